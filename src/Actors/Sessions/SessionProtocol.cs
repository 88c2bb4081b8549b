using Fantasy.Actors.Cluster;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Sessions;

/// <summary>A message for one session; the manager routes on its <see cref="Key"/>'s <see cref="SessionKey.SessionId"/>.</summary>
internal interface IWithSessionId
{
    SessionKey Key { get; }
}

/// <summary>Messages between the public API, the session manager and the sessions.</summary>
internal static class SessionProtocol
{
    /// <summary>
    /// Run a turn; its events and then exactly one <see cref="TurnFinished"/> are written to <paramref name="Out"/>, which is
    /// then completed. With a <see cref="ChannelTurnOutput"/> it stays in this process; with a
    /// <see cref="Cluster.RelayTurnOutput"/> it can cross to the node that owns the session (cluster mode).
    /// </summary>
    public sealed record SubmitTurn(SessionKey Key, string TurnId, ResponseRequest Request, TurnOptions Options, ITurnOutput Out)
        : IWithSessionId, IClusterMessage;

    /// <summary>The caller took <paramref name="Count"/> events of the turn off its channel (consumer back-pressure).</summary>
    public sealed record TurnEventTaken(SessionKey Key, string TurnId, int Count = 1) : IWithSessionId, IClusterMessage;

    public sealed record CancelSessionTurn(SessionKey Key, string TurnId) : IWithSessionId, IClusterMessage;

    public sealed record GetSessionStatus(SessionKey Key) : IWithSessionId, IClusterMessage;

    /// <summary>Answer to <see cref="GetSessionStatus"/> for a session that does not exist.</summary>
    public sealed record NoSuchSession(SessionKey Key) : IClusterMessage;

    /// <summary>Close the session; with <paramref name="Forget"/>, its recorded conversation is deleted first.</summary>
    public sealed record CloseSession(SessionKey Key, bool Forget = false) : IWithSessionId, IClusterMessage;

    /// <summary>The session is closed; <paramref name="Problem"/> says why its records could not be deleted (a forgetting close).</summary>
    public sealed record SessionClosed(SessionKey Key, bool Existed, string? Problem = null) : IClusterMessage;

    /// <summary>From a session to the manager: idle for session-idle-timeout; stop me.</summary>
    public sealed record Passivate(SessionKey Key);

    /// <summary>
    /// The shard region's stop message for a sharded session (passivation and hand-off): the session stops once its
    /// running and queued turns have ended, so a planned hand-off does not cut a turn.
    /// </summary>
    public sealed class StopSession : IClusterMessage
    {
        public static readonly StopSession Instance = new();

        private StopSession()
        {
        }
    }

    /// <summary>A session to itself: send the running turn's waiting events (<see cref="ITurnOutput.Flush"/>). Never crosses nodes.</summary>
    public sealed class FlushOutput
    {
        public static readonly FlushOutput Instance = new();

        private FlushOutput()
        {
        }
    }
}
