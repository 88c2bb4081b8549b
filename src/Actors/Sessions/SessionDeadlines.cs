namespace Fantasy.Actors.Sessions;

/// <summary>
/// A session's idle-time deadlines — the connection's rotation (max-age), the idle close of its socket, and the
/// session's own idle stop — behind one timer. The timer is set for the earliest deadline; a deadline moved later
/// (a new turn) does not touch the timer, which on firing finds nothing due and is set again for what remains.
/// So an idle session holds one scheduled timer, and a turn costs no timer operation for these deadlines.
/// </summary>
internal sealed class SessionDeadlines
{
    private DateTimeOffset? rotateAt;
    private long rotateEpoch;
    private DateTimeOffset? idleCloseAt;
    private long idleCloseEpoch;
    private DateTimeOffset? stopAt;
    private DateTimeOffset? timerAt;

    /// <summary>What became due when the timer fired (each at most once).</summary>
    [Flags]
    public enum Due
    {
        None = 0,
        Rotate = 1,
        IdleClose = 2,
        Stop = 4,
    }

    /// <summary>
    /// The connection of <paramref name="epoch"/> opened at <paramref name="connectedAt"/>: it is replaced after
    /// <paramref name="maxAge"/> ± up to <paramref name="jitter"/> (spread so that connections opened together are
    /// not all replaced together).
    /// </summary>
    /// <param name="unit">A number in [0, 1) (default: random).</param>
    public void RotateAfter(DateTimeOffset connectedAt, TimeSpan maxAge, TimeSpan jitter, long epoch, double? unit = null) =>
        RotateAt(connectedAt + maxAge + (jitter * (((unit ?? Random.Shared.NextDouble()) * 2) - 1)), epoch);

    public void RotateAt(DateTimeOffset at, long epoch)
    {
        rotateAt = at;
        rotateEpoch = epoch;
    }

    public void ClearRotate() => rotateAt = null;

    /// <summary>The session went idle: its socket closes at <paramref name="closeAt"/>, the session stops at <paramref name="stopAt"/>.</summary>
    public void IdleFrom(DateTimeOffset closeAt, long epoch, DateTimeOffset stopAt)
    {
        idleCloseAt = closeAt;
        idleCloseEpoch = epoch;
        this.stopAt = stopAt;
    }

    public void StopAt(DateTimeOffset at) => stopAt = at;

    /// <summary>A turn arrived: the idle deadlines no longer apply (the timer is left to find nothing due).</summary>
    public void Busy()
    {
        idleCloseAt = null;
        stopAt = null;
    }

    /// <summary>
    /// The delay to set the timer for, when it must be set: no timer is pending, or the earliest deadline is now
    /// before the pending one. Null when the pending timer (or none, with no deadline) already does.
    /// </summary>
    public TimeSpan? Rearm(DateTimeOffset now)
    {
        var earliest = Min(Min(rotateAt, idleCloseAt), stopAt);
        if (earliest is not { } at || (timerAt is { } pending && pending <= at))
        {
            return null;
        }

        timerAt = at;
        var delay = at - now;
        return delay > TimeSpan.Zero ? delay : TimeSpan.FromMilliseconds(1);
    }

    /// <summary>The timer fired at <paramref name="now"/>: what is due, for which connection epoch; those deadlines are cleared.</summary>
    public (Due Due, long RotateEpoch, long IdleCloseEpoch) Fired(DateTimeOffset now)
    {
        timerAt = null;
        var due = Due.None;
        if (rotateAt <= now)
        {
            due |= Due.Rotate;
            rotateAt = null;
        }

        if (idleCloseAt <= now)
        {
            due |= Due.IdleClose;
            idleCloseAt = null;
        }

        if (stopAt <= now)
        {
            due |= Due.Stop;
            stopAt = null;
        }

        return (due, rotateEpoch, idleCloseEpoch);
    }

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a < b ? a : b;
}
