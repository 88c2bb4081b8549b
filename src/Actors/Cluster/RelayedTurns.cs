using Akka.Actor;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// The turn relay's bookkeeping: the turns it holds by id, and which session accepted which of them (so that a lost
/// session ends exactly its own turns). A plain type: the relay asks it and does the watching it says.
/// </summary>
internal sealed class RelayedTurns
{
    private readonly Dictionary<string, RelayedTurn> turns = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, HashSet<string>> bySession = new();

    public int Count => turns.Count;

    /// <summary>Sessions that have at least one accepted turn held here (each watched once).</summary>
    public int WatchedSessions => bySession.Count;

    public void Add(string turnId, RelayedTurn turn) => turns[turnId] = turn;

    public bool TryGet(string turnId, out RelayedTurn turn) => turns.TryGetValue(turnId, out turn!);

    /// <summary>
    /// <paramref name="session"/> accepted the turn. Returns true when the session has no other turn here yet: the
    /// relay starts watching it. False for an unknown turn or one already accepted (a resent copy's answer).
    /// </summary>
    public bool Accept(string turnId, IActorRef session, out bool watchSession)
    {
        watchSession = false;
        if (!turns.TryGetValue(turnId, out var turn) || turn.Session is not null)
        {
            return false;
        }

        turn.Session = session;
        turn.Submit = null;
        if (!bySession.TryGetValue(session, out var ids))
        {
            bySession[session] = ids = new HashSet<string>(StringComparer.Ordinal);
            watchSession = true;
        }

        ids.Add(turnId);
        return true;
    }

    /// <summary>
    /// The turn is over here. Returns its session when that was the session's last turn held here (the relay stops
    /// watching it), else null.
    /// </summary>
    public IActorRef? Remove(string turnId)
    {
        if (!turns.Remove(turnId, out var turn) || turn.Session is not { } session || !bySession.TryGetValue(session, out var ids))
        {
            return null;
        }

        ids.Remove(turnId);
        if (ids.Count > 0)
        {
            return null;
        }

        bySession.Remove(session);
        return session;
    }

    /// <summary>The turns <paramref name="session"/> accepted, now that it is gone (it is no longer watched); empty for a session with none.</summary>
    public List<(string Id, RelayedTurn Turn)> SessionGone(IActorRef session)
    {
        var gone = new List<(string, RelayedTurn)>();
        if (bySession.Remove(session, out var ids))
        {
            foreach (var id in ids)
            {
                if (turns.TryGetValue(id, out var turn))
                {
                    gone.Add((id, turn));
                }
            }
        }

        return gone;
    }

    /// <summary>Every turn held, in no particular order.</summary>
    public List<(string Id, RelayedTurn Turn)> All() => turns.Select(t => (t.Key, t.Value)).ToList();
}
