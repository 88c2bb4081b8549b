namespace Fantasy.Actors.Connections;

/// <summary>The messages the connection sends itself (completions of its socket work, its timers).</summary>
internal sealed partial class ConnectionActor
{
    // ---- internal messages ----
    private sealed record ConnectSucceeded(IReadOnlyList<KeyValuePair<string, string>> Headers);

    private sealed record ConnectErrored(Exception Cause);

    private sealed record ConnectTimedOut;

    private sealed record SendCompleted(string TurnId);

    private sealed record SendFailed(string TurnId, Exception Cause);

    private sealed record CloseSent;

    private sealed record CloseTimedOut;

    private sealed record WatchdogTick;

    private sealed record CloseFailed(Exception Cause);

    private static DateTimeOffset Now => Context.System.Scheduler.Now;
}
