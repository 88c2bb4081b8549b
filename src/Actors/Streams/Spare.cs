namespace Fantasy.Actors.Streams;

/// <summary>
/// One spare object kept for reuse between two parties of a stream (the stage that makes it and whoever
/// is done with it, possibly on another thread): a reader under load then allocates nothing per message or
/// per batch. Holding one is enough: while one object is in use downstream, the other is being filled.
/// </summary>
internal sealed class Spare<T>
    where T : class
{
    private T? spare;

    public T? Take() => Interlocked.Exchange(ref spare, null);

    public void Put(T item) => Volatile.Write(ref spare, item);
}
