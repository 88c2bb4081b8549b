using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Sessions;

/// <summary>The terminals a session gives its turns, in one place.</summary>
internal static class TurnEnds
{
    /// <summary>The terminal for a response's own end (its transport and chaining are stamped by <see cref="RunningTurn.Finish"/>).</summary>
    public static TurnEnd FromResult(TurnResult result)
    {
        var outcome = result.Status switch
        {
            TurnStatus.Completed => TurnOutcome.Completed,
            TurnStatus.Incomplete => TurnOutcome.Incomplete,
            TurnStatus.Cancelled => TurnOutcome.Cancelled,
            _ => TurnOutcome.Failed,
        };
        var reason = outcome switch
        {
            TurnOutcome.Completed => null,
            TurnOutcome.Incomplete => result.IncompleteReason ?? "incomplete",
            _ => result.Error?.Message ?? $"the response ended {result.Status}",
        };
        var retryable = outcome == TurnOutcome.Failed && result.Error is { Classification: not ErrorClass.Fatal };
        return new TurnEnd(outcome, result, result.Error, retryable, reason, Chained: false, Transport: Transport.None);
    }

    /// <summary>The upgrade was refused for a reason HTTP would not fix (auth, invalid request).</summary>
    public static TurnEnd ConnectRefused(UpstreamError error) =>
        TurnEnd.Failed(
            $"the WebSocket connection was refused ({error.Message}); this is not a transport problem, so the turn is not retried over HTTP",
            retryable: error.Classification != ErrorClass.Fatal, error: error);

    /// <summary>The connection failed after events had reached the caller: never replayed.</summary>
    public static TurnEnd Interrupted(int delivered, string reason) =>
        TurnEnd.Failed(
            $"the connection failed after {delivered} events had been delivered: {reason}",
            retryable: true, result: new TurnResult { Status = TurnStatus.Interrupted });

    public static TurnEnd Cancelled(int delivered) => TurnEnd.Cancelled($"cancelled after {delivered} events");

    public static TurnEnd CancelledWhileQueued() => TurnEnd.Cancelled("cancelled while queued");

    /// <summary>The HTTP fallback gave up on the turn (its retries spent, or an error not worth retrying).</summary>
    public static TurnEnd FailedOverHttp(UpstreamError error, bool retryable) => TurnEnd.Failed(error.Message, retryable, error: error);

    /// <summary>A local rejection passed on as it came (from the HTTP fallback).</summary>
    public static TurnEnd Rejected(Rejection rejection, string reason) => TurnEnd.Rejected(rejection, reason);

    public static TurnEnd WarmupNeedsWebSocket(string transportReason) =>
        TurnEnd.Rejected(Rejection.WarmupNeedsWebSocket, $"a warm-up needs WebSocket mode, and this conversation is on HTTP ({transportReason})");

    public static TurnEnd Orphaned(TimeSpan bound, string state) =>
        TurnEnd.Failed(
            $"the turn had no live connection for {bound} ({state}; session.orphaned-turn-timeout)",
            retryable: true, result: new TurnResult { Status = TurnStatus.Interrupted });

    public static TurnEnd QueueFull(int queued, int bound) =>
        TurnEnd.Rejected(Rejection.QueueFull, $"{queued} turns are already queued for this session (session.max-queued-turns = {bound})");

    public static TurnEnd QueueTimeout(TimeSpan waited) =>
        TurnEnd.Rejected(Rejection.QueueTimeout, $"the turn waited {waited} for the session (session.queue-wait-timeout)");

    /// <summary>The session is restarting and its manager's buffer for it is full.</summary>
    public static TurnEnd SessionRestarting(int waiting) =>
        TurnEnd.Rejected(Rejection.SessionRestarting, $"the session is restarting and {waiting} messages already wait for it");

    public static TurnEnd SessionCrashed(string why) => TurnEnd.Failed($"the session failed while running the turn: {why}", retryable: true);

    public static TurnEnd SessionStoppedWhileRunning() => TurnEnd.Failed("the session stopped while the turn was running", retryable: true);

    public static TurnEnd SessionStoppedBeforeStart() => TurnEnd.Failed("the session stopped before the turn started", retryable: true);
}
