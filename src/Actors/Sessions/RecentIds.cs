namespace Fantasy.Actors.Sessions;

/// <summary>The last <c>capacity</c> distinct ids seen, oldest forgotten first.</summary>
internal sealed class RecentIds(int capacity)
{
    private readonly HashSet<string> ids = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();

    /// <summary>Adds <paramref name="id"/>; false when it was already among the recent ones.</summary>
    public bool Add(string id)
    {
        if (!ids.Add(id))
        {
            return false;
        }

        order.Enqueue(id);
        if (order.Count > capacity)
        {
            ids.Remove(order.Dequeue());
        }

        return true;
    }
}
