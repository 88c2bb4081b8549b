using Fantasy.Actors.Streams;
using System.Net.WebSockets;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Connections.ConnectionProtocol;

namespace Fantasy.Actors.Connections;

/// <summary>
/// One upstream WebSocket and at most one in-flight response.
/// <code>
///   Connecting ──connected──▶ Idle ◀──terminal event──┐
///       │                      │ StartTurn            │
///       │ refused/timeout      ▼                      │
///       ▼                     Busy ───────────────────┘
///     (stop)                   │ socket/stream failure, watchdog, malformed frame → TurnInterrupted
///                              │ CancelTurn → TurnCancelled (socket discarded)
///   Idle/Busy ──Close──▶ Closing ──server close frame / timeout──▶ (stop)
/// </code>
/// The socket is read by an Akka.Streams graph (whole messages → <see cref="EventParser"/> →
/// <c>Sink.ActorRefWithAck</c>), so the socket is read only as fast as this actor — and, with a consumer
/// window, the turn's consumer — takes events. Sends go through this actor, one at a time. It never
/// retries and never decides policy: it reports to its parent, every report carrying its epoch, and
/// stops after its last report, <see cref="ConnectionClosed"/>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor releases its socket and token source in PostStop.")]
internal sealed partial class ConnectionActor : UntypedActor, IWithTimers
{
    private const string ConnectTimeoutKey = "connect-timeout";
    private const string WatchdogKey = "turn-watchdog";
    private const string CloseTimeoutKey = "close-timeout";

    private readonly ConnectionOptions options;
    private readonly IActorRef parent;
    private readonly WebSocketConnector connector;
    private readonly ILoggingAdapter log;
    private readonly CancellationTokenSource io = new();
    private readonly ClientWebSocket socket = new();
    private readonly long epoch;

    private StartTurn? waiting;
    private Turn? turn;
    private readonly InboundDelivery delivery = new();
    private readonly Func<bool> canTake;
    private readonly Action<object> take;
    private UntypedReceive state;
    private UniqueKillSwitch? killSwitch;
    private bool closeRequested;
    private bool sendInFlight;
    private bool closedReported;
    private bool opened;

    public ConnectionActor(ConnectionOptions options, IActorRef parent, WebSocketConnector connector)
    {
        this.options = options;
        this.parent = parent;
        this.connector = connector;
        epoch = options.Epoch;
        state = Connecting;
        canTake = () => !WindowFull && !closedReported;
        take = element => state(element);
        // With Akka.Logger.Serilog as the logger, every event of this connection carries ConnectionEpoch
        // (and, for a turn, TurnId) as properties (Akka log context); the text carries them too.
        log = Context.GetLogger().WithContext("ConnectionEpoch", epoch);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The running turn's parse mode, read by the inbound stream for each message.</summary>
    private readonly InboundParseMode parseMode = new();

    public static Props Props(ConnectionOptions options, IActorRef parent, WebSocketConnector connector) =>
        Akka.Actor.Props.Create(() => new ConnectionActor(options, parent, connector));

    /// <summary>The running turn.</summary>
    private sealed class Turn(StartTurn command, DateTimeOffset now)
    {
        public StartTurn Command { get; } = command;
        public string Id => Command.TurnId;
        public TurnAccumulator Accumulator { get; } = new(command.FoldDeltas);
        public int Forwarded { get; set; }

        /// <summary>Events sent to the reply-to and not yet acknowledged (only with a consumer window).</summary>
        public UnreadWindow? Unread { get; } = command.ConsumerWindow is { } events ? new UnreadWindow(events, command.ConsumerWindowBytes) : null;
        public bool FrameSent { get; set; }
        public DateTimeOffset LastActivity { get; set; } = now;
    }

    protected override void PreStart()
    {
        socket.Options.SetRequestHeader("Authorization", "Bearer " + options.Credentials.ApiKey);
        if (options.Credentials.Organization is { } org) socket.Options.SetRequestHeader("OpenAI-Organization", org);
        if (options.Credentials.Project is { } project) socket.Options.SetRequestHeader("OpenAI-Project", project);
        if (options.OpenAIBeta is { } beta) socket.Options.SetRequestHeader("OpenAI-Beta", beta);
        if (options.UserAgent is { } agent) socket.Options.SetRequestHeader("User-Agent", agent);
        socket.Options.KeepAliveInterval = options.KeepAliveInterval;

        log.Debug("connection {ConnectionEpoch}: connecting to {Url}", epoch, options.Url);
        Timers.StartSingleTimer(ConnectTimeoutKey, new ConnectTimedOut(), options.ConnectTimeout);
        connector.ConnectAsync(socket, options.Url, io.Token)
            .PipeTo(Self, Self, static headers => new ConnectSucceeded(headers), static ex => new ConnectErrored(ex));
        Go(Connecting);
    }

    protected override void OnReceive(object message) => Unhandled(message);

    private ILoggingAdapter TurnLog(string turnId) => log.WithContext("TurnId", turnId);

    // ---- Idle ----
    private void Idle(object message)
    {
        switch (message)
        {
            case StartTurn start:
                Begin(start);
                break;
            case ServerEvent e:
                if (e is ErrorEvent error)
                {
                    log.Warning("connection {ConnectionEpoch}: error while idle: {UpstreamError}", epoch, error.Error);
                    parent.Tell(new IdleError(epoch, error.Error));
                    BeginClose(ConnectionCause.IdleError, $"error while idle: {error.Error.Code ?? error.Error.Message}");
                }
                else
                {
                    log.Warning("connection {ConnectionEpoch}: unexpected {EventType} while idle; closing", epoch, e.Type);
                    BeginClose(ConnectionCause.IdleError, $"unexpected {e.Type} while idle");
                }

                break;
            case Close:
                BeginClose(ConnectionCause.PlannedClose, "planned close");
                break;
            case WatchdogTick:
                // The first tick that finds the connection idle stops the watchdog: an idle connection has no timer.
                Timers.Cancel(WatchdogKey);
                break;
            case InboundDelivery.Completed:
                ServerClosed();
                break;
            case InboundFault fault:
                Abandon(fault.Cause is ProtocolException ? ConnectionCause.MalformedMessage : ConnectionCause.SocketFailed, $"the connection failed while idle: {ExceptionText.Flatten(fault.Cause)}");
                break;
            case InboundDelivery.Failed f:
                Abandon(ConnectionCause.SocketFailed, $"the inbound stream failed while idle: {ExceptionText.Flatten(f.Cause)}");
                break;
            default:
                HandleInboundOrLate(message);
                break;
        }
    }

    private void Begin(StartTurn start)
    {
        if (sendInFlight)
        {
            // The previous frame's send has not reported back yet; one send at a time.
            Sender.Tell(new TurnRefused(epoch, start.TurnId, RefusalCause.Busy, "busy: the previous send has not completed"));
            return;
        }

        turn = new Turn(start, Now);
        parseMode.TextAsReceived = !start.FoldDeltas; // before the frame goes out: every event of the turn is parsed after
        sendInFlight = true;
        if (!Timers.IsTimerActive(WatchdogKey))
        {
            // One periodic watchdog across consecutive turns (not one timer started and cancelled per turn); it
            // stops itself at its first tick after the connection went idle.
            Timers.StartPeriodicTimer(WatchdogKey, new WatchdogTick(), TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(10).Ticks, options.TurnWatchdog.Ticks / 5)));
        }

        var id = start.TurnId;
        FantasyMetrics.BytesSent.Add(start.Frame.Length, new KeyValuePair<string, object?>("transport", "websocket"));
        Send(socket, start.Frame, io.Token)
            .PipeTo(Self, Self, () => new SendCompleted(id), ex => new SendFailed(id, ex));
        if (log.IsDebugEnabled)
        {
            // Guarded: the turn's log context is an adapter made per call, not worth making per turn for nothing.
            TurnLog(id).Debug("connection {ConnectionEpoch}: turn {TurnId} started", epoch, id);
        }

        Go(Busy);
    }

    // ---- Busy ----
    private void Busy(object message)
    {
        var current = turn!;
        switch (message)
        {
            case ServerEvent e:
                Forward(current, e);
                break;
            case EventConsumed consumed when consumed.TurnId == current.Id:
                current.Unread?.Consumed(consumed.Count);
                current.LastActivity = Now;
                Drain();

                break;
            case SendCompleted sent when sent.TurnId == current.Id:
                sendInFlight = false;
                current.FrameSent = true;
                parent.Tell(new TurnSent(epoch, current.Id));
                break;
            case SendFailed failed when failed.TurnId == current.Id:
                sendInFlight = false;
                Interrupt(current, ConnectionCause.SendFailed, $"sending the request failed: {failed.Cause.Message}");
                break;
            case StartTurn start:
                Sender.Tell(new TurnRefused(epoch, start.TurnId, RefusalCause.Busy, $"busy: turn {current.Id} is running"));
                break;
            case CancelTurn cancel when cancel.TurnId == current.Id:
                TurnLog(current.Id).Info("connection {ConnectionEpoch}: turn {TurnId} cancelled after {EventsForwarded} events; discarding the socket", epoch, current.Id, current.Forwarded);
                turn = null;
                parent.Tell(new TurnCancelled(epoch, current.Id, current.Forwarded));
                Abandon(ConnectionCause.TurnCancelled, $"turn {current.Id} was cancelled; the socket is discarded");
                break;
            case WatchdogTick:
                if (Now - current.LastActivity >= options.TurnWatchdog)
                {
                    Interrupt(current, ConnectionCause.Watchdog, $"no event for {options.TurnWatchdog} (connection.turn-watchdog)");
                }

                break;
            case Close:
                closeRequested = true;
                break;
            case InboundDelivery.Completed:
                var status = socket.CloseStatus;
                Interrupt(current, ConnectionCause.ServerClosed, $"the server closed the connection ({status?.ToString() ?? "no close frame"}{Describe(socket.CloseStatusDescription)})");
                break;
            case InboundFault fault:
                Interrupt(current, fault.Cause is ProtocolException pe
                    ? (ConnectionCause.MalformedMessage, $"malformed message: {pe.Message}")
                    : (ConnectionCause.SocketFailed, $"the connection failed: {ExceptionText.Flatten(fault.Cause)}"));
                break;
            case InboundDelivery.Failed f:
                Interrupt(current, ConnectionCause.SocketFailed, $"the inbound stream failed: {ExceptionText.Flatten(f.Cause)}");
                break;
            default:
                HandleInboundOrLate(message);
                break;
        }
    }

    private void Forward(Turn current, ServerEvent e)
    {
        // LastActivity is stamped where elements are taken in: a batch's arrival and the consumer's acknowledgement.
        current.FrameSent = true;
        var index = current.Forwarded++;
        current.Command.ReplyTo.Tell(new UpstreamEventReceived(epoch, current.Id, index, e));
        var ended = current.Accumulator.Apply(e) == TurnProgress.Ended;

        if (ended)
        {
            End(current);
            return;
        }

        // At the window, elements stop being taken (and the stream acknowledged) until the consumer catches up.
        current.Unread?.Sent(e.ReceivedBytes);
    }

    private void End(Turn current)
    {
        turn = null;
        var result = current.Accumulator.ToResult();
        if (log.IsDebugEnabled)
        {
            TurnLog(current.Id).Debug("connection {ConnectionEpoch}: turn {TurnId} ended {Status} after {EventsForwarded} events", epoch, current.Id, result.Status, current.Forwarded);
        }

        parent.Tell(new TurnEnded(epoch, current.Id, result, current.Forwarded));
        Go(Idle);
        if (closeRequested)
        {
            BeginClose(ConnectionCause.PlannedClose, "planned close after the turn");
        }
    }

    private void Interrupt(Turn current, (ConnectionCause Cause, string Reason) why) => Interrupt(current, why.Cause, why.Reason);

    private void Interrupt(Turn current, ConnectionCause cause, string reason)
    {
        turn = null;
        TurnLog(current.Id).Warning("connection {ConnectionEpoch}: turn {TurnId} interrupted after {EventsForwarded} events: {Reason}", epoch, current.Id, current.Forwarded, reason);
        parent.Tell(new TurnInterrupted(epoch, current.Id, current.Forwarded, current.FrameSent, cause, reason));
        if (cause == ConnectionCause.ServerClosed)
        {
            ServerClosed();
        }
        else
        {
            Abandon(cause, reason);
        }
    }

    // ---- Shared ----
    private void StartInbound()
    {
        var self = Self;
        killSwitch = InboundFrames.From(socket, options.MaxMessageSize, CancellationToken.None)
            .Via(InboundFrames.Parse(options.KeepRawEvents, parseMode))
            .ViaMaterialized(KillSwitches.Single<object>(), Keep.Right)
            .Via(InboundFrames.Batches(InboundFrames.ReadAhead))
            .To(InboundDelivery.Sink(self))
            .Run(StreamMaterializer.For(Context.System));
    }

    private void Go(UntypedReceive next)
    {
        state = next;
        Become(next);
    }

    /// <summary>Whether the running turn's consumer has as many events outstanding as its window allows.</summary>
    private bool WindowFull => turn is { Unread.Full: true };

    /// <summary>Hands the buffered inbound elements, in order, to the current state while the consumer window allows.</summary>
    private void Drain() => delivery.Drain(canTake, take);

    /// <summary>
    /// What any state handles alike: the inbound stream's batches and completion (through the delivery), and the
    /// late replies of a state already left (a send, close or connect result, a stale tick or acknowledgement).
    /// Anything else is unhandled.
    /// </summary>
    private void HandleInboundOrLate(object message)
    {
        switch (message)
        {
            case SendCompleted or SendFailed:
                sendInFlight = false;
                break;
            case EventConsumed or WatchdogTick or ConnectTimedOut or CloseTimedOut or CloseSent or ConnectSucceeded or ConnectErrored:
                // Late or stale: the state it belonged to is gone.
                break;
            case CancelTurn cancel:
                log.Debug("connection {ConnectionEpoch}: cancel for turn {TurnId}, which is not running here", epoch, cancel.TurnId);
                break;
            case InboundBatch when turn is { } running:
                // The turn's watchdog counts from the last batch taken in (one clock read per batch, not per event).
                running.LastActivity = Now;
                delivery.Handle(message, Sender, canTake, take);
                break;
            default:
                if (!delivery.Handle(message, Sender, canTake, take))
                {
                    Unhandled(message);
                }

                break;
        }
    }

    /// <summary>Largest WebSocket frame a request goes out in; a larger request is sent as a message of several frames.</summary>
    internal const int MaxSendFrame = 64 * 1024;

    /// <summary>
    /// Sends one text message. The socket builds each frame in a buffer rented from the shared array pool, which
    /// keeps what it lends: a request of many MiB sent as one frame would leave buffers of that size in the pool.
    /// </summary>
    private static Task Send(ClientWebSocket socket, byte[] frame, CancellationToken ct) =>
        frame.Length <= MaxSendFrame
            ? socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct)
            : SendInFramesAsync(socket, frame, ct);

    private static async Task SendInFramesAsync(ClientWebSocket socket, byte[] frame, CancellationToken ct)
    {
        for (var offset = 0; offset < frame.Length; offset += MaxSendFrame)
        {
            var length = Math.Min(MaxSendFrame, frame.Length - offset);
            await socket.SendAsync(frame.AsMemory(offset, length), WebSocketMessageType.Text, endOfMessage: offset + length == frame.Length, ct).ConfigureAwait(false);
        }
    }

    private static UpstreamError Describe(Exception cause) => cause switch
    {
        UpgradeRefusedException refused => UpstreamError.FromHttpResponse(refused.Status, refused.Headers, refused.Body, refusedUpgrade: true),
        _ => UpstreamError.FromTransport(ExceptionText.Flatten(cause)),
    };

    private static string Describe(string? closeDescription) =>
        string.IsNullOrEmpty(closeDescription) ? string.Empty : $": {closeDescription}";

}
