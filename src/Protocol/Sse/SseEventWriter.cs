using System.Buffers;
using System.Collections.Frozen;
using System.Text;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// Writes server events as SSE frames (<c>event: type</c>, <c>data: json</c>, blank line) without re-encoding the
/// JSON: the writer beside <see cref="SseEventReader"/>, used by the gateway and the simulator. A payload with line
/// breaks (pretty-printed JSON) goes out as one <c>data:</c> line per line, as the SSE format requires and
/// <c>System.Net.ServerSentEvents.SseFormatter</c> writes it; a reader joins them with <c>\n</c>.
/// </summary>
public static class SseEventWriter
{
    /// <summary>
    /// The encoded heads of the event types this library knows, made once. The type of an event comes from
    /// whoever sent it (an upstream, a proxy), so other types are encoded per frame and never cached: a
    /// stream of made-up types cannot grow anything.
    /// </summary>
    private static readonly FrozenDictionary<string, byte[]> KnownHeads = typeof(EventTypes)
        .GetFields()
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToFrozenDictionary(t => t, Head, StringComparer.Ordinal);

    private static readonly byte[] DataOnlyHead = "data: "u8.ToArray();
    private static readonly byte[] NextDataLine = "\ndata: "u8.ToArray();
    private static readonly byte[] End = "\n\n"u8.ToArray();
    private static readonly byte[] DoneFrame = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>One SSE frame for an event of <paramref name="type"/> whose JSON is <paramref name="json"/>.</summary>
    /// <remarks>A type with a line break cannot be an SSE event name; the frame then has no <c>event:</c> line (the JSON still names its type).</remarks>
    public static async Task WriteAsync(Stream body, string type, ReadOnlyMemory<byte> json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(type);
        var head = KnownHeads.TryGetValue(type, out var known) ? known
            : type.AsSpan().IndexOfAny('\r', '\n') >= 0 ? DataOnlyHead
            : Head(type);
        await body.WriteAsync(head, cancellationToken).ConfigureAwait(false);
        var rest = json;
        int lineEnd;
        while ((lineEnd = rest.Span.IndexOfAny((byte)'\r', (byte)'\n')) >= 0)
        {
            await body.WriteAsync(rest[..lineEnd], cancellationToken).ConfigureAwait(false);
            await body.WriteAsync(NextDataLine, cancellationToken).ConfigureAwait(false);
            var skip = rest.Span[lineEnd] == (byte)'\r' && lineEnd + 1 < rest.Length && rest.Span[lineEnd + 1] == (byte)'\n' ? 2 : 1;
            rest = rest[(lineEnd + skip)..];
        }

        await body.WriteAsync(rest, cancellationToken).ConfigureAwait(false);
        await body.WriteAsync(End, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// As <see cref="WriteAsync(Stream, string, ReadOnlyMemory{byte}, CancellationToken)"/>, into a buffer (a response's
    /// <c>PipeWriter</c>) without flushing: frames written together go out together when the caller flushes.
    /// </summary>
    public static void Write(IBufferWriter<byte> writer, string type, ReadOnlySpan<byte> json)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(type);
        var head = KnownHeads.TryGetValue(type, out var known) ? known
            : type.AsSpan().IndexOfAny('\r', '\n') >= 0 ? DataOnlyHead
            : Head(type);
        writer.Write(head);
        var rest = json;
        int lineEnd;
        while ((lineEnd = rest.IndexOfAny((byte)'\r', (byte)'\n')) >= 0)
        {
            writer.Write(rest[..lineEnd]);
            writer.Write(NextDataLine);
            var skip = rest[lineEnd] == (byte)'\r' && lineEnd + 1 < rest.Length && rest[lineEnd + 1] == (byte)'\n' ? 2 : 1;
            rest = rest[(lineEnd + skip)..];
        }

        writer.Write(rest);
        writer.Write(End);
    }

    /// <summary>The <c>data: [DONE]</c> frame some servers end a stream with (the Open Responses spec; OpenAI itself does not).</summary>
    public static Task WriteDoneAsync(Stream body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return body.WriteAsync(DoneFrame, cancellationToken).AsTask();
    }

    private static byte[] Head(string type) => Encoding.UTF8.GetBytes("event: " + type + "\ndata: ");
}
