using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Sessions;

/// <summary>What becomes of a turn its connection could not finish.</summary>
internal enum Recovery
{
    /// <summary>The same turn once more, full input, on a fresh connection, invisibly.</summary>
    Replay,

    /// <summary>Back to the head of the queue unchanged: no connection took it, nothing was sent.</summary>
    Requeue,

    /// <summary>WebSocket mode keeps failing it before anything reached the caller: this turn goes over HTTP.</summary>
    OverHttp,

    /// <summary>Its caller cancelled it.</summary>
    Cancelled,

    /// <summary>Events had reached the caller: it fails, retryably, and is never resent.</summary>
    Fail,

    /// <summary>The upstream's rate limit refused it before its first event: it waits for the shared budget and is resent.</summary>
    WaitForBudget,
}

/// <summary>
/// The session's rules for a turn its connection could not finish, as plain functions: a turn is resent only while
/// nothing of it reached the caller, and is never left waiting on a connection that does not exist.
/// </summary>
internal static class TurnRecovery
{
    /// <summary>Connections in a row that may close before taking a turn (or answer the connection limit) before the turn goes over HTTP.</summary>
    public const int MaxHandoffs = 3;

    /// <summary>
    /// Whether an event is held back instead of reaching the caller: a replay-safe error before the first event
    /// (<c>previous_response_not_found</c>, <c>websocket_connection_limit_reached</c>) that the session can cover —
    /// a lost cache only when it knows the whole conversation (a caller's unknown id is reported as it is).
    /// </summary>
    public static bool HoldsBack(RunningTurn turn, ServerEvent e, bool budgetShared, out UpstreamError error)
    {
        error = null!;
        if (e is ErrorEvent { Error: var refusal } && WaitsForBudget(turn, refusal, budgetShared))
        {
            error = refusal;
            return true;
        }

        if (turn.Delivered != 0 || e is not ErrorEvent { Error: { IsReplaySafe: true } replaySafe })
        {
            return false;
        }

        error = replaySafe;
        return (MayReplay(turn.Pending, replaySafe) || replaySafe.Code == UpstreamError.ConnectionLimitReached)
            && (replaySafe.Code != UpstreamError.PreviousResponseNotFound || turn.FullInput is not null);
    }

    /// <summary>
    /// A held error is resent once; the connection limit (a fresh connection is exactly the remedy, and under load a
    /// new socket can age out before its first request) up to <see cref="MaxHandoffs"/> times, then over HTTP.
    /// </summary>
    public static Recovery AfterHeldError(PendingTurn pending, UpstreamError error, bool budgetShared) =>
        budgetShared && error.IsRateLimited ? Recovery.WaitForBudget
        : MayReplay(pending, error) ? Recovery.Replay : Recovery.OverHttp;

    /// <summary>
    /// Whether the credential's shared budget covers <paramref name="error"/>: the upstream's rate limit (not
    /// <c>insufficient_quota</c>), before anything reached the caller, on a turn not being cancelled.
    /// </summary>
    public static bool WaitsForBudget(RunningTurn turn, UpstreamError error, bool budgetShared) =>
        budgetShared && error.IsRateLimited && turn.Delivered == 0 && !turn.CancelRequested;

    /// <summary>
    /// How long a turn the upstream refused with 429 may still wait for the budget: what is left of
    /// <paramref name="queueWaitTimeout"/> since its first refusal; null when that is no longer than the wait the upstream
    /// asked for (<paramref name="hold"/>), or for an internal warm-up (nobody waits for it) — then it fails.
    /// </summary>
    public static TimeSpan? BudgetWaitLeft(DateTimeOffset firstRefused, DateTimeOffset now, TimeSpan queueWaitTimeout, TimeSpan hold, bool isInternal)
    {
        var left = firstRefused + queueWaitTimeout - now;
        return left <= hold || isInternal ? null : left;
    }

    /// <summary>
    /// The turn stopped without its terminal. Nothing reached the caller yet: resent once, also when its request had
    /// gone out (the caller sees one answer; the upstream may have started the abandoned attempt). Otherwise it fails.
    /// </summary>
    public static Recovery AfterInterruption(RunningTurn turn) =>
        turn.CancelRequested ? Recovery.Cancelled
        : turn.Delivered == 0 && !turn.Pending.Replayed ? Recovery.Replay
        : Recovery.Fail;

    /// <summary>The turn's connection is gone: one that never took the turn gives it back; otherwise it was interrupted.</summary>
    public static Recovery AfterConnectionGone(RunningTurn turn) =>
        !turn.Acknowledged && turn.Delivered == 0 && !turn.CancelRequested ? Recovery.Requeue : AfterInterruption(turn);

    /// <summary>A turn no connection took goes back to the queue, until connection after connection did not take it.</summary>
    public static Recovery AfterNotTaken(PendingTurn pending) =>
        ++pending.Handoffs > MaxHandoffs ? Recovery.OverHttp : Recovery.Requeue;

    private static bool MayReplay(PendingTurn pending, UpstreamError error) =>
        pending.Replays == 0 || (error.Code == UpstreamError.ConnectionLimitReached && pending.Replays < MaxHandoffs);
}
