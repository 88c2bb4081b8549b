using System.Net.WebSockets;

namespace Fantasy.Actors.Streams;

/// <summary>
/// One whole WebSocket message in a buffer rented from the shared pool. Whoever consumes it calls
/// <see cref="Release"/>, which returns the buffer (and, for a message made by the socket source, the
/// message object itself for reuse); the message must not be touched after that.
/// </summary>
internal sealed class RawMessage
{
    private readonly Spare<RawMessage>? owner;
    private byte[]? buffer;

    public RawMessage(byte[] buffer, int length, WebSocketMessageType type)
        : this(null)
    {
        Reset(buffer, length, type);
    }

    private RawMessage(Spare<RawMessage>? owner) => this.owner = owner;

    public int Length { get; private set; }
    public WebSocketMessageType Type { get; private set; }

    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, Length);

    /// <summary>Whether the buffer went back to the pool.</summary>
    public bool Released => Volatile.Read(ref buffer) is null;

    /// <summary>Copies a message into a pooled buffer (tests and benchmarks).</summary>
    public static RawMessage Text(ReadOnlySpan<byte> payload, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        var rented = MessageBuffers.Rent(Math.Max(1, payload.Length));
        payload.CopyTo(rented);
        return new RawMessage(rented, payload.Length, type);
    }

    /// <summary>A message around <paramref name="buffer"/>: the spare one if there is one, else a new one that returns to <paramref name="spares"/>.</summary>
    internal static RawMessage From(Spare<RawMessage> spares, byte[] buffer, int length, WebSocketMessageType type)
    {
        var message = spares.Take() ?? new RawMessage(spares);
        message.Reset(buffer, length, type);
        return message;
    }

    private void Reset(byte[] rented, int length, WebSocketMessageType type)
    {
        Length = length;
        Type = type;
        Volatile.Write(ref buffer, rented);
    }

    public void Release()
    {
        var b = Interlocked.Exchange(ref buffer, null);
        if (b is not null)
        {
            MessageBuffers.Return(b);
            owner?.Put(this);
        }
    }
}
