using System.Net.WebSockets;
using Akka.Actor;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Connections;

/// <summary>
/// The messages of a <see cref="ConnectionActor"/>: commands it accepts, what it forwards to a turn's
/// reply-to, and what it reports to its parent. Every report carries the connection's epoch, so a
/// parent can drop late messages from a socket it has already replaced.
/// </summary>
internal static class ConnectionProtocol
{
    /// <summary>Reports to the parent carry the epoch of the connection that sent them.</summary>
    public interface IConnectionReport
    {
        long Epoch { get; }
    }

    // ---- Commands ----

    /// <summary>
    /// Run one turn: send <paramref name="Frame"/> (a <c>response.create</c>) and forward every event of the
    /// response to <paramref name="ReplyTo"/> as <see cref="UpstreamEventReceived"/>. With a
    /// <paramref name="ConsumerWindow"/>, at most that many events are outstanding: the reply-to answers
    /// each with <see cref="EventConsumed"/>, and until it does the connection stops reading the socket
    /// (at most <see cref="Streams.InboundFrames.ReadAhead"/> messages are read ahead), so TCP back-pressure
    /// reaches the server instead of memory growing.
    /// </summary>
    /// <remarks><paramref name="ConsumerWindowBytes"/> bounds the same window in bytes (each event's size as received).</remarks>
    public sealed record StartTurn(string TurnId, byte[] Frame, IActorRef ReplyTo, int? ConsumerWindow = null, long ConsumerWindowBytes = long.MaxValue, bool FoldDeltas = true);

    /// <summary>Abandon the running turn: the socket is discarded (there is no cancel event).</summary>
    public sealed record CancelTurn(string TurnId);

    /// <summary>The reply-to consumed <paramref name="Count"/> events of a turn started with a consumer window.</summary>
    public sealed record EventConsumed(string TurnId, int Count = 1);

    /// <summary>Planned close (rotation, idle): a normal close handshake now, or after the running turn.</summary>
    public sealed class Close
    {
        public static readonly Close Instance = new();

        private Close()
        {
        }
    }

    // ---- To the turn's reply-to ----

    /// <summary>One upstream event of a running turn; <paramref name="Index"/> counts from 0 within the turn.</summary>
    public sealed record UpstreamEventReceived(long Epoch, string TurnId, int Index, ServerEvent Event) : IConnectionReport;

    /// <summary>The connection cannot take the turn now (busy, closing); the parent should queue it.</summary>
    public sealed record TurnRefused(long Epoch, string TurnId, RefusalCause Cause, string Reason) : IConnectionReport;

    // ---- To the parent ----

    /// <summary>The upgrade succeeded; <paramref name="Headers"/> are its answer's <c>x-ratelimit-*</c> headers (none when it sent none).</summary>
    public sealed record Connected(long Epoch, IReadOnlyList<KeyValuePair<string, string>>? Headers = null) : IConnectionReport;

    /// <summary>
    /// The upgrade did not succeed. <see cref="Error"/> is a refused upgrade (with status, headers and
    /// the parsed error body) or a transport failure; <see cref="UpgradeRequired"/> is the 426 case
    /// (no WebSocket mode at this endpoint); <see cref="TimedOut"/> when the connect timeout passed.
    /// </summary>
    public sealed record ConnectFailed(long Epoch, UpstreamError Error, bool TimedOut) : IConnectionReport
    {
        public int? Status => Error.Status;
        public bool UpgradeRequired => Error.IsUpgradeRequired;
        public TimeSpan? RetryAfter => Error.RetryAfter;
    }

    /// <summary>
    /// The frame went out on the socket: the connection took the turn. The server may be generating from here on;
    /// the session still resends a turn that fails before any of its events reached the caller (the caller sees one
    /// answer, though the upstream may bill the abandoned attempt), and never one after.
    /// </summary>
    public sealed record TurnSent(long Epoch, string TurnId) : IConnectionReport;

    /// <summary>The turn's terminal event arrived; <see cref="Result"/> is the folded turn.</summary>
    public sealed record TurnEnded(long Epoch, string TurnId, TurnResult Result, int EventsForwarded) : IConnectionReport;

    /// <summary>
    /// The turn stopped without a terminal event: the socket failed, the stream failed, the watchdog
    /// fired, or a frame was malformed. <see cref="FrameSent"/> and <see cref="EventsForwarded"/> tell the
    /// parent whether anything could have started. The connection closes itself afterwards.
    /// </summary>
    public sealed record TurnInterrupted(long Epoch, string TurnId, int EventsForwarded, bool FrameSent, ConnectionCause Cause, string Reason) : IConnectionReport;

    /// <summary>The turn was cancelled and its socket discarded.</summary>
    public sealed record TurnCancelled(long Epoch, string TurnId, int EventsForwarded) : IConnectionReport;

    /// <summary>An <c>error</c> arrived with no turn running (e.g. the connection limit pushed to an idle socket).</summary>
    public sealed record IdleError(long Epoch, UpstreamError Error) : IConnectionReport;

    /// <summary>The connection is gone and the actor stops. Always the last report.</summary>
    public sealed record ConnectionClosed(long Epoch, ConnectionCause Cause, string Reason, WebSocketCloseStatus? CloseStatus) : IConnectionReport;
}
