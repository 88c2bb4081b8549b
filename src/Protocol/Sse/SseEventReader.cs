using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// Reads an SSE response body (<c>event:</c>/<c>data:</c> blocks) into <see cref="ServerEvent"/>s with the
/// same <see cref="EventParser"/> the WebSocket path uses. A final <c>data: [DONE]</c> ends the stream;
/// it is not an event. The <c>event:</c> name is informational: the JSON <c>type</c> decides.
/// </summary>
public static class SseEventReader
{
    private static readonly SseItemParser<ServerEvent?> Parser = static (_, data) =>
        data.SequenceEqual("[DONE]"u8) ? null : EventParser.Parse(data);

    private static readonly SseItemParser<ServerEvent?> KeepingParser = static (_, data) =>
        data.SequenceEqual("[DONE]"u8) ? null : EventParser.Parse(data, keepRaw: true);

    private static readonly SseItemParser<ServerEvent?> ReceivedParser = static (_, data) =>
        data.SequenceEqual("[DONE]"u8) ? null : EventParser.Parse(data, keepRaw: true, textAsReceived: true);

    /// <exception cref="ProtocolException">A <c>data:</c> payload is not a valid event.</exception>
    public static IAsyncEnumerable<ServerEvent> ReadAsync(Stream body, CancellationToken cancellationToken = default) =>
        ReadAsync(body, keepRaw: false, cancellationToken);

    /// <param name="body">The SSE body.</param>
    /// <param name="keepRaw">Keep each event's JSON as received (<see cref="ServerEvent.ReceivedJson"/>).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    public static IAsyncEnumerable<ServerEvent> ReadAsync(Stream body, bool keepRaw, CancellationToken cancellationToken = default) =>
        ReadAsync(body, keepRaw, textAsReceived: false, cancellationToken);

    /// <param name="body">The SSE body.</param>
    /// <param name="keepRaw">Keep each event's JSON as received (<see cref="ServerEvent.ReceivedJson"/>).</param>
    /// <param name="textAsReceived">With <paramref name="keepRaw"/>: text-carrying events as <see cref="ReceivedEvent"/> (see <see cref="EventParser.Parse(ReadOnlySpan{byte}, bool, bool)"/>).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    public static async IAsyncEnumerable<ServerEvent> ReadAsync(
        Stream body,
        bool keepRaw,
        bool textAsReceived,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var parser = SseParser.Create(body, !keepRaw ? Parser : textAsReceived ? ReceivedParser : KeepingParser);
        await foreach (var item in parser.EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            if (item.Data is null)
            {
                yield break;
            }

            yield return item.Data;
        }
    }

    /// <summary>Synchronous variant, for bodies already in memory.</summary>
    public static IEnumerable<ServerEvent> Read(Stream body)
    {
        ArgumentNullException.ThrowIfNull(body);
        foreach (var item in SseParser.Create(body, Parser).Enumerate())
        {
            if (item.Data is null)
            {
                yield break;
            }

            yield return item.Data;
        }
    }
}
