namespace Fantasy.Actors.Host;

internal static partial class Logs
{
    [LoggerMessage(Level = LogLevel.Information, Message = "client of session {SessionId} disconnected mid-turn; the turn is cancelled")]
    public static partial void ClientDisconnected(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "shutdown: {Running} turns still running after {DrainTimeout}; closing anyway")]
    public static partial void DrainTimedOut(ILogger logger, int running, TimeSpan drainTimeout);
}
