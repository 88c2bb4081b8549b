using Fantasy.Actors.Configuration;

namespace Fantasy.Actors.Persistence;

/// <summary>What a durable session does with a new turn, given the journal's state.</summary>
internal enum JournalVerdict
{
    /// <summary>Run the turn.</summary>
    Run,

    /// <summary>Run it, starting the session's journal child again first (this turn is the probe).</summary>
    RunAndRestartJournal,

    /// <summary>Refuse it: the store is down and this is not the moment to probe it.</summary>
    Refuse,
}

/// <summary>
/// Whether a session admits a new turn while its conversation store may be down (<c>on-failure = refuse</c>): turns
/// run while the store is up, in memory mode and during recovery; when it is down, one turn per probe interval (across
/// the actor system, <see cref="JournalHealth.TryProbe"/>) goes ahead as the probe and the others are refused. A session
/// whose own journal child is alive while another session found the store down lets its probe turn run on that child
/// (its next write tells); one whose child stopped restarts it for the probe. A session whose child is not started yet
/// (it has no records: the child starts at its first write) is not down.
/// </summary>
internal static class JournalAdmission
{
    /// <param name="durable">The session writes its turns.</param>
    /// <param name="onFailure">The configured failure mode.</param>
    /// <param name="recovering">The session's journal is reading its records (turns wait for it anyway).</param>
    /// <param name="sessionDown">This session's own journal child failed.</param>
    /// <param name="storeAvailable">No session of the actor system found the store down.</param>
    /// <param name="childAlive">This session's journal child is running.</param>
    /// <param name="tryProbe">Takes the system's probe for this interval (true once per interval).</param>
    public static JournalVerdict Decide(bool durable, PersistenceFailureMode onFailure, bool recovering, bool sessionDown, bool storeAvailable, bool childAlive, Func<bool> tryProbe)
    {
        ArgumentNullException.ThrowIfNull(tryProbe);
        if (!durable || onFailure == PersistenceFailureMode.InMemory || recovering || (!sessionDown && storeAvailable))
        {
            return JournalVerdict.Run;
        }

        if (childAlive && !sessionDown)
        {
            return tryProbe() ? JournalVerdict.Run : JournalVerdict.Refuse;
        }

        return tryProbe() ? JournalVerdict.RunAndRestartJournal : JournalVerdict.Refuse;
    }
}
