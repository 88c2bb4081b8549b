namespace Fantasy.Actors.Sessions;

/// <summary>
/// A session's waiting turns: first in, first out, at most <c>session.max-queued-turns</c> of them; a turn put back
/// (a replay, a turn no connection took) goes to the head. Each waiting turn has a timeout, which the session
/// arms and cancels under <see cref="TimeoutKey"/>.
/// </summary>
internal sealed class TurnQueue(int bound)
{
    private readonly LinkedList<PendingTurn> turns = new();

    public int Count => turns.Count;

    public int Bound { get; } = bound;

    public bool IsFull => turns.Count >= Bound;

    /// <summary>The timer key of a waiting turn's timeout.</summary>
    public static string TimeoutKey(string turnId) => "queue-" + turnId;

    public void Add(PendingTurn turn) => turns.AddLast(turn);

    /// <summary>The turn that goes next, left in place; null when none waits.</summary>
    public PendingTurn? Head => turns.First?.Value;

    /// <summary>Finds a waiting turn by id.</summary>
    public PendingTurn? Find(string turnId) => turns.FirstOrDefault(t => t.Id == turnId);

    /// <summary>A turn that was already accepted goes back to the head (the bound does not apply).</summary>
    public void PutBack(PendingTurn turn) => turns.AddFirst(turn);

    public PendingTurn? TakeHead()
    {
        if (turns.First is not { } head)
        {
            return null;
        }

        turns.RemoveFirst();
        return head.Value;
    }

    /// <summary>Removes and returns a waiting turn (expired or cancelled), or null when it is not waiting.</summary>
    public bool Contains(string turnId) => turns.Any(t => t.Id == turnId);

    public PendingTurn? Remove(string turnId)
    {
        for (var node = turns.First; node is not null; node = node.Next)
        {
            if (node.Value.Id == turnId)
            {
                turns.Remove(node);
                return node.Value;
            }
        }

        return null;
    }

    /// <summary>Empties the queue, oldest first (stop, restart).</summary>
    public List<PendingTurn> TakeAll()
    {
        var all = turns.ToList();
        turns.Clear();
        return all;
    }
}
