using System.Threading.Channels;
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
    /// then completed. Local only: it carries the caller's channel, so it can never cross to another node as it is.
    /// </summary>
    public sealed record SubmitTurn(SessionKey Key, string TurnId, ResponseRequest Request, TurnOptions Options, ChannelWriter<TurnEvent> Out)
        : IWithSessionId, Akka.Actor.INoSerializationVerificationNeeded;

    /// <summary>The caller took <paramref name="Count"/> events of the turn off its channel (consumer back-pressure).</summary>
    public sealed record TurnEventTaken(SessionKey Key, string TurnId, int Count = 1) : IWithSessionId;

    public sealed record CancelSessionTurn(SessionKey Key, string TurnId) : IWithSessionId;

    public sealed record GetSessionStatus(SessionKey Key) : IWithSessionId;

    /// <summary>Answer to <see cref="GetSessionStatus"/> for a session that does not exist.</summary>
    public sealed record NoSuchSession(SessionKey Key);

    public sealed record CloseSession(SessionKey Key) : IWithSessionId;

    public sealed record SessionClosed(SessionKey Key, bool Existed);

    /// <summary>From a session to the manager: idle for session-idle-timeout; stop me.</summary>
    public sealed record Passivate(SessionKey Key);
}
