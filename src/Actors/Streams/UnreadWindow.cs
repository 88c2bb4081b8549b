namespace Fantasy.Actors.Streams;

/// <summary>
/// What a turn's consumer has been sent and not yet acknowledged, in events and in bytes (each event's size as
/// received). Full at <c>session.consumer-window</c> events or <c>session.consumer-window-bytes</c> bytes, whichever
/// comes first; one event is always allowed, however large, so a turn never stalls on a single big event.
/// </summary>
internal sealed class UnreadWindow(int maxEvents, long maxBytes)
{
    private readonly Queue<int> sizes = new();

    public int Events => sizes.Count;

    public long Bytes { get; private set; }

    public bool Full => sizes.Count >= maxEvents || (sizes.Count > 0 && Bytes >= maxBytes);

    public void Sent(int bytes)
    {
        sizes.Enqueue(bytes);
        Bytes += bytes;
    }

    /// <summary>The consumer took the oldest <paramref name="count"/> events.</summary>
    public void Consumed(int count)
    {
        for (; count > 0 && sizes.TryDequeue(out var size); count--)
        {
            Bytes -= size;
        }
    }
}
