using System.Buffers;
using System.Net.WebSockets;
using Akka;
using Akka.Streams.Dsl;
using Akka.Util;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Connections;

/// <summary>
/// One whole WebSocket message in a buffer rented from the shared pool. Whoever consumes it returns
/// the buffer with <see cref="Release"/>.
/// </summary>
internal sealed class RawMessage
{
    private byte[]? buffer;

    public RawMessage(byte[] buffer, int length, WebSocketMessageType type)
    {
        this.buffer = buffer;
        Length = length;
        Type = type;
    }

    public int Length { get; }
    public WebSocketMessageType Type { get; }

    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, Length);

    /// <summary>Whether the buffer went back to the pool.</summary>
    public bool Released => Volatile.Read(ref buffer) is null;

    /// <summary>Copies a message into a pooled buffer (tests and benchmarks).</summary>
    public static RawMessage Text(ReadOnlySpan<byte> payload, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(1, payload.Length));
        payload.CopyTo(rented);
        return new RawMessage(rented, payload.Length, type);
    }

    public void Release()
    {
        var b = Interlocked.Exchange(ref buffer, null);
        if (b is not null)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}

/// <summary>
/// The inbound stream's last element when reading or parsing failed. It travels in order behind the
/// events already read (a stream failure would overtake them: the acknowledging sink drops its buffer
/// on failure), and the stream completes after it.
/// </summary>
internal sealed record InboundFault(Exception Cause);

/// <summary>
/// The inbound side of a connection as Akka.Streams pieces: a source that reads whole messages from a
/// socket, and a flow that parses each message into a <see cref="ServerEvent"/>.
/// </summary>
internal static class InboundFrames
{
    private const int InitialBuffer = 16 * 1024;

    /// <summary>
    /// Reads <paramref name="socket"/> one whole message per element (frames reassembled until
    /// <c>EndOfMessage</c>) into pooled buffers: <see cref="RawMessage"/> elements, then an
    /// <see cref="InboundFault"/> if reading failed (a message above <paramref name="maxMessageSize"/>
    /// is a <see cref="ProtocolException"/>). A close frame from the server completes the stream.
    /// Reading happens only on demand, so a slow consumer leaves data in the socket (TCP back-pressure).
    /// </summary>
    public static Source<object, NotUsed> From(WebSocket socket, long maxMessageSize, CancellationToken ct) =>
        Source.UnfoldAsync<bool, object>(false, async failed =>
        {
            if (failed)
            {
                return Option<(bool, object)>.None;
            }

            try
            {
                var message = await ReceiveAsync(socket, maxMessageSize, ct).ConfigureAwait(false);
                return message is null ? Option<(bool, object)>.None : (false, message);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return (true, new InboundFault(ex));
            }
        });

    /// <summary>
    /// Parses each <see cref="RawMessage"/> into a <see cref="ServerEvent"/> and returns its buffer. A binary
    /// message or bad JSON becomes an <see cref="InboundFault"/> carrying the <see cref="ProtocolException"/>;
    /// nothing is read after a fault.
    /// </summary>
    public static Flow<object, object, NotUsed> Parse() =>
        Flow.Create<object>()
            .Select(static element => element is RawMessage raw ? ParseOne(raw) : element)
            .TakeWhile(static element => element is not InboundFault, inclusive: true);

    private static object ParseOne(RawMessage raw)
    {
        try
        {
            if (raw.Type != WebSocketMessageType.Text)
            {
                return new InboundFault(new ProtocolException($"a {raw.Type} message arrived; the protocol uses text frames only"));
            }

            return EventParser.Parse(raw.Span);
        }
        catch (ProtocolException ex)
        {
            return new InboundFault(ex);
        }
        finally
        {
            raw.Release();
        }
    }

    /// <summary>One whole message, or null when the server sent a close frame.</summary>
    internal static async Task<RawMessage?> ReceiveAsync(WebSocket socket, long maxMessageSize, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= maxMessageSize)
                    {
                        throw new ProtocolException($"an inbound message is larger than the {maxMessageSize}-byte limit (connection.max-message-size)");
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, Math.Min(maxMessageSize + 1, Array.MaxLength)));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var result = await socket.ReceiveAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return null;
                }

                length += result.Count;
                if (length > maxMessageSize)
                {
                    throw new ProtocolException($"an inbound message is larger than the {maxMessageSize}-byte limit (connection.max-message-size)");
                }

                if (result.EndOfMessage)
                {
                    var message = new RawMessage(buffer, length, result.MessageType);
                    buffer = null!;
                    return message;
                }
            }
        }
        catch
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            throw;
        }
    }
}
