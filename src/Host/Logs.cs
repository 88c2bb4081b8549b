namespace Fantasy.Actors.Host;

internal static partial class Logs
{
    [LoggerMessage(Level = LogLevel.Information, Message = "client of session {SessionId} disconnected mid-turn; the turn is cancelled")]
    public static partial void ClientDisconnected(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "shutdown: {Running} turns still running after {DrainTimeout}; aborting their requests (their turns are cancelled) and closing")]
    public static partial void DrainTimedOut(ILogger logger, int running, TimeSpan drainTimeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "shutdown: new turns get 503; waiting up to {DrainTimeout} for {Running} running turns")]
    public static partial void DrainStarted(ILogger logger, int running, TimeSpan drainTimeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "shutdown: the turn of session {SessionId} was still running when the drain ended; its request is aborted and the turn cancelled")]
    public static partial void AbandonedAtShutdown(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "shutdown: every running turn ended after {Elapsed}; stopping the server and the actor system")]
    public static partial void DrainCompleted(ILogger logger, TimeSpan elapsed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant}: the cluster's session admission did not answer within {Timeout}; session {Conversation} admitted on this node's replicated count")]
    public static partial void AdmissionUnanswered(ILogger logger, string tenant, TimeSpan timeout, string conversation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pass-through {Method} /v1/{Path} to {Upstream} failed ({Error}): {Detail}")]
    public static partial void PassThroughFailed(ILogger logger, string method, string path, Uri upstream, Yarp.ReverseProxy.Forwarder.ForwarderError error, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "tenant {Tenant}: response {ResponseId} cancelled through the API")]
    public static partial void ResponseCancelled(ILogger logger, string tenant, string responseId);
}
