using Fantasy.Actors.Streams;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Fallback;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Connections.ConnectionProtocol;
using static Fantasy.Actors.Fallback.HttpFallbackProtocol;
using static Fantasy.Actors.Sessions.SessionProtocol;
using ApiTurnEvent = Fantasy.Actors.Contract.TurnEvent;

namespace Fantasy.Actors.Sessions;

/// <summary>What a session needs from its surroundings.</summary>
internal sealed record SessionEnvironment(
    FantasySettings Settings,
    UpstreamCredentials Credentials,
    WebSocketConnector Connector,
    IActorRef Http)
{
    /// <summary>
    /// Where a connection of the given epoch sends its reports, given the session; the session itself unless a
    /// spec interposes (to order a connection's reports against the session's own messages).
    /// </summary>
    public Func<long, IActorRef, IActorRef>? ReportsTo { get; init; }

    /// <summary>Events a turn's caller may hold unread before the socket stops being read (<c>session.consumer-window</c>).</summary>
    public int ConsumerWindow => Settings.Session.ConsumerWindow;

    /// <summary>Bytes of a turn's events its caller may hold unread (<c>session.consumer-window-bytes</c>).</summary>
    public long ConsumerWindowBytes => Settings.Session.ConsumerWindowBytes;
}

/// <summary>
/// One conversation: a FIFO of turns with one in flight, the chain (previous response id + only the new
/// items), the transcript of the current chain, and the parent of the conversation's ConnectionActor.
/// <code>
///   turn queue ─▶ plan (ChainPlanner) ─▶ StartTurn on connection ws-{epoch} ─▶ events ─▶ caller
///                                          │ previous_response_not_found / limit reached before any event
///                                          └─▶ once more, full input, on a fresh connection (invisible)
///   rotation timer (max-age ± jitter): idle → replace now; busy → replace after the turn
/// </code>
/// Every accepted turn gets exactly one <see cref="TurnFinished"/>: completion, failure, cancellation or
/// rejection — also when the connection dies, the session crashes, or the session stops.
/// </summary>
internal sealed class SessionActor : UntypedActor, IWithTimers
{
    private const string RotateKey = "rotate";
    private const string IdleKey = "idle-close";
    private const string PassivateKey = "session-idle";
    private const string LivenessKey = "turn-liveness";

    /// <summary>The epoch of a turn on no connection (HTTP); connections count from 1, so no chain made over HTTP continues on one.</summary>
    private const long NoConnection = 0;

    /// <summary>Connections in a row that may close before taking a turn before the turn fails.</summary>
    private const int MaxHandoffs = 3;

    private readonly SessionKey key;
    private readonly SessionEnvironment env;
    private readonly SessionSettings settings;
    private readonly ILoggingAdapter log;
    private readonly LinkedList<Pending> queue = new();
    private readonly TransportPolicy policy;
    private int fallbacks;

    private IActorRef? connection;
    private long epoch;
    private bool connected;
    private DateTimeOffset connectedAt;
    private bool rotateAfterTurn;
    private Running? running;

    /// <summary>The chain the planner may continue (null after anything but a completed turn).</summary>
    private ChainState? chain;

    /// <summary>Full input + output of the last completed turn, kept across connections to resend full context.</summary>
    private ChainState? transcript;

    private int turns;
    private int rotations;
    private int replays;
    private bool? lastChained;
    private bool passivating;

    public SessionActor(SessionKey key, SessionEnvironment env)
    {
        this.key = key;
        this.env = env;
        settings = env.Settings.Session;
        policy = new TransportPolicy(env.Settings.Fallback);
        log = Context.GetLogger().WithContext("SessionId", key.SessionId).WithContext("Tenant", key.Tenant);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SessionKey key, SessionEnvironment env) =>
        Akka.Actor.Props.Create(() => new SessionActor(key, env));

    private static DateTimeOffset Now => Context.System.Scheduler.Now;

    /// <summary>A turn waiting in the queue.</summary>
    private sealed class Pending(SubmitTurn submit, DateTimeOffset enqueued)
    {
        public SubmitTurn Submit { get; } = submit;
        public string Id => Submit.TurnId;
        public DateTimeOffset Enqueued { get; } = enqueued;
        public bool Finished { get; set; }
        public bool Replayed => Replays > 0;

        /// <summary>How many times the turn was resent, full input, on a fresh connection.</summary>
        public int Replays { get; set; }

        /// <summary>How many connections closed before taking this turn.</summary>
        public int Handoffs { get; set; }

        /// <summary>Internal warm-ups (rotation priming) have no caller.</summary>
        public bool Internal { get; init; }

        public void Finish(TurnEnd end)
        {
            if (Finished)
            {
                return;
            }

            Finished = true;
            try
            {
                Submit.Out.TryWrite(new TurnFinished(end));
            }
            finally
            {
                Submit.Out.TryComplete();
            }
        }
    }

    /// <summary>The turn on the connection.</summary>
    private sealed class Running(Pending pending, long epoch, ChainPlan plan, IReadOnlyList<JsonElement>? fullInput)
    {
        public Transport Transport { get; init; } = Transport.WebSocket;

        /// <summary>Ends the turn, stamped with the transport it ran on and whether it went out chained.</summary>
        public void Finish(TurnEnd end) => Pending.Finish(end with { Transport = Transport, Chained = Chained });

        public Pending Pending { get; } = pending;
        public long Epoch { get; } = epoch;
        public ChainPlan Plan { get; } = plan;
        public bool Chained => Plan is ChainPlan.Continue;

        /// <summary>The whole conversation this turn sends, when known (null for a caller chaining from an unknown id).</summary>
        public IReadOnlyList<JsonElement>? FullInput { get; } = fullInput;
        public int Delivered { get; set; }
        public UpstreamError? HeldError { get; set; }
        public bool CancelRequested { get; set; }

        /// <summary>Events written to the caller and not yet taken by it (what a caller that stops reading makes the session hold).</summary>
        public UnreadWindow Unread { get; } = new(int.MaxValue, long.MaxValue);

        /// <summary>The connection took the turn: it reported the frame sent, an event, or a refusal.</summary>
        public bool Acknowledged { get; set; }
    }

    /// <summary>The check, <c>session.orphaned-turn-timeout</c> after a WebSocket turn was handed out or lost its connection, that it has a live one.</summary>
    private sealed record TurnLiveness(string TurnId);

    private sealed record Rotate(long Epoch);

    private sealed record IdleClose(long Epoch);

    private sealed record QueueTimeout(string TurnId);

    private sealed record SessionIdle;

    protected override SupervisorStrategy SupervisorStrategy() =>
        // A connection that throws is stopped, never restarted: its PostStop reports the running turn
        // interrupted and the connection closed, and the session replaces it on the next turn.
        new OneForOneStrategy(10, TimeSpan.FromMinutes(1), _ => Directive.Stop);

    protected override void PreStart()
    {
        FantasyMetrics.OpenSessions.Add(1);
        Timers.StartSingleTimer(PassivateKey, new SessionIdle(), settings.SessionIdleTimeout);
    }

    protected override void OnReceive(object message)
    {
        if (passivating && message is IWithSessionId)
        {
            // The manager is stopping this session; it buffers the message for the next incarnation.
            Context.Parent.Forward(message);
            return;
        }

        switch (message)
        {
            case SessionIdle when running is null && queue.Count == 0:
                log.Info("session {SessionId}: no turn for {Timeout}; stopping the session", key.SessionId, settings.SessionIdleTimeout);
                passivating = true;
                Context.Parent.Tell(new Passivate(key));
                break;
            case SessionIdle:
                break;
            case SubmitTurn submit:
                Enqueue(submit);
                break;
            case TurnEventTaken taken when running is { Transport: Transport.Http } h && h.Pending.Id == taken.TurnId:
                h.Unread.Consumed(taken.Count);
                env.Http.Tell(new HttpEventConsumed(taken.TurnId, taken.Count));
                break;
            case TurnEventTaken taken when running is { } r && r.Pending.Id == taken.TurnId && connection is not null:
                r.Unread.Consumed(taken.Count);
                connection.Tell(new EventConsumed(taken.TurnId, taken.Count));
                break;
            case TurnEventTaken:
                break;
            case CancelSessionTurn cancel:
                Cancel(cancel.TurnId);
                break;
            case GetSessionStatus:
                Sender.Tell(Status());
                break;
            case QueueTimeout timeout:
                ExpireQueued(timeout.TurnId);
                break;
            case Rotate rotate when rotate.Epoch == epoch:
                if (running is not null)
                {
                    rotateAfterTurn = true;
                }
                else
                {
                    RotateNow("connection max-age reached");
                }

                break;
            case IdleClose idle when idle.Epoch == epoch && running is null && queue.Count == 0 && connection is not null:
                log.Info("session {SessionId}: no turn for {IdleCloseAfter}; closing connection {ConnectionEpoch}", key.SessionId, settings.IdleCloseAfter, epoch);
                DropConnection(close: true);
                break;
            case Rotate or IdleClose:
                break;
            case HttpEventReceived e:
                OnEvent(e.TurnId, e.Event, Transport.Http);
                break;
            case HttpTurnEnded ended:
                OnHttpEnded(ended);
                break;
            case HttpTurnFailed failed when running is { Transport: Transport.Http } r && r.Pending.Id == failed.TurnId:
                running = null;
                log.Warning("session {SessionId}: turn {TurnId} failed over HTTP after {Attempts} attempts: {Error}", key.SessionId, failed.TurnId, failed.Attempts, failed.Error.Message);
                r.Finish(TurnEnd.Failed(failed.Error.Message, failed.Retryable, error: failed.Error) with { Metadata = failed.Metadata });
                AfterTurn();
                break;
            case HttpTurnRejected rejected when running is { Transport: Transport.Http } r && r.Pending.Id == rejected.TurnId:
                running = null;
                r.Finish(TurnEnd.Rejected(rejected.Rejection, rejected.Reason));
                AfterTurn();
                break;
            case HttpTurnCancelled cancelled when running is { Transport: Transport.Http } r && r.Pending.Id == cancelled.TurnId:
                running = null;
                r.Finish(TurnEnd.Cancelled($"cancelled after {cancelled.EventsForwarded} events"));
                AfterTurn();
                break;
            case HttpTurnFailed or HttpTurnRejected or HttpTurnCancelled:
                break;
            case IConnectionReport report:
                OnConnectionReport(report);
                break;
            case TurnLiveness liveness:
                CheckLiveness(liveness.TurnId);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    // ---- queue ----
    private void Enqueue(SubmitTurn submit)
    {
        if (queue.Count >= settings.MaxQueuedTurns)
        {
            log.Warning("session {SessionId}: turn {TurnId} rejected: {Queued} turns already queued (session.max-queued-turns)", key.SessionId, submit.TurnId, queue.Count);
            new Pending(submit, Now).Finish(TurnEnd.Rejected(Rejection.QueueFull,
                $"{queue.Count} turns are already queued for this session (session.max-queued-turns = {settings.MaxQueuedTurns})"));
            return;
        }

        queue.AddLast(new Pending(submit, Now));
        Timers.StartSingleTimer("queue-" + submit.TurnId, new QueueTimeout(submit.TurnId), settings.QueueWaitTimeout);
        Timers.Cancel(IdleKey);
        Timers.Cancel(PassivateKey);
        TryStartNext();
    }

    private void ExpireQueued(string turnId)
    {
        for (var node = queue.First; node is not null; node = node.Next)
        {
            if (node.Value.Id == turnId)
            {
                queue.Remove(node);
                log.Warning("session {SessionId}: turn {TurnId} waited {Wait} in the queue; rejected", key.SessionId, turnId, settings.QueueWaitTimeout);
                node.Value.Finish(TurnEnd.Rejected(Rejection.QueueTimeout, $"the turn waited {settings.QueueWaitTimeout} for the session (session.queue-wait-timeout)"));
                return;
            }
        }
    }

    private void TryStartNext()
    {
        if (running is not null || queue.Count == 0)
        {
            return;
        }

        if (connection is null && policy.Choose(Now) == Transport.Http)
        {
            var head = queue.First!.Value;
            queue.RemoveFirst();
            Timers.Cancel("queue-" + head.Id);
            StartHttp(head);
            return;
        }

        if (connection is null)
        {
            Connect();
            return;
        }

        if (!connected)
        {
            return;
        }

        var pending = queue.First!.Value;
        queue.RemoveFirst();
        Timers.Cancel("queue-" + pending.Id);
        Start(pending);
    }

    private void Start(Pending pending)
    {
        var submit = pending.Submit;
        var (plan, fullInput) = Plan(submit, forceFresh: pending.Replayed);
        var request = submit.Request;
        var frame = request.ToWebSocketFrame(
            plan is ChainPlan.Continue c ? c.PreviousResponseId : null,
            plan.Input,
            generate: !submit.Options.GenerateWarmup);
        running = new Running(pending, epoch, plan, fullInput);
        lastChained = running.Chained;
        Timers.StartSingleTimer(LivenessKey, new TurnLiveness(pending.Id), settings.OrphanedTurnTimeout);
        if (log.IsDebugEnabled)
        {
            log.Debug("session {SessionId}: turn {TurnId} on connection {ConnectionEpoch}: {Plan} with {Items} input items",
                key.SessionId, pending.Id, epoch, plan is ChainPlan.Fresh f ? $"fresh ({f.Reason})" : "chained", plan.Input.Count);
        }
        connection!.Tell(new StartTurn(pending.Id, frame, Self, env.ConsumerWindow, env.ConsumerWindowBytes));
    }

    /// <summary>Nothing of the turn reached its caller and WebSocket mode keeps failing it: this turn goes over HTTP.</summary>
    private void SendOverHttp(Pending pending, string why)
    {
        log.Warning("session {SessionId}: turn {TurnId} goes over HTTP: {Why}", key.SessionId, pending.Id, why);
        StartHttp(pending);
    }

    /// <summary>The turn goes over HTTP: the full input (the session's transcript covers a caller chaining from one of its ids).</summary>
    private void StartHttp(Pending pending)
    {
        var submit = pending.Submit;
        if (submit.Options.GenerateWarmup)
        {
            pending.Finish(TurnEnd.Rejected(Rejection.WarmupNeedsWebSocket, $"a warm-up needs WebSocket mode, and this conversation is on HTTP ({policy.Describe(Now)})"));
            TryStartNext();
            return;
        }

        fallbacks++;
        FantasyMetrics.Fallbacks.Add(1);
        var (plan, fullInput) = Plan(submit, forceFresh: true);
        var body = submit.Request.ToHttpBody(plan is ChainPlan.Continue c ? c.PreviousResponseId : null, plan.Input, stream: true);
        running = new Running(pending, NoConnection, plan, fullInput) { Transport = Transport.Http };
        lastChained = false;
        log.Info("session {SessionId}: turn {TurnId} over HTTP ({Reason})", key.SessionId, pending.Id, policy.Describe(Now));
        env.Http.Tell(new RunHttpTurn(pending.Id, body, Self, env.ConsumerWindow, env.ConsumerWindowBytes));
    }

    /// <summary>The plan for a turn and the whole conversation it amounts to.</summary>
    private (ChainPlan Plan, IReadOnlyList<JsonElement>? FullInput) Plan(SubmitTurn submit, bool forceFresh)
    {
        var request = submit.Request;
        var explicitId = submit.Options.PreviousResponseId ?? request.PreviousResponseId;
        if (explicitId is { Length: > 0 })
        {
            // The caller chains itself. Its id is usable as-is only while this connection still holds it;
            // for an id of this session's own chain, the transcript rebuilds the full context otherwise.
            var known = transcript is { } t && t.ResponseId == explicitId;
            var full = known ? Concat(transcript!, request.Input) : null;
            var onThisConnection = chain is { } ch && ch.ResponseId == explicitId && ch.Epoch == epoch;
            if (known && (forceFresh || !onThisConnection || submit.Options.ResetChain))
            {
                return (new ChainPlan.Fresh(full!, FreshReason.OtherConnection), full);
            }

            if (submit.Options.ResetChain)
            {
                return (new ChainPlan.Fresh(request.Input, FreshReason.ResetRequested), request.Input);
            }

            return (new ChainPlan.Continue(explicitId, request.Input), full);
        }

        var plan = ChainPlanner.Plan(forceFresh ? null : chain, request, epoch, submit.Options.ResetChain, explicitPreviousResponseId: null);
        return (plan, request.Input);
    }

    private static List<JsonElement> Concat(ChainState state, IReadOnlyList<JsonElement> newItems)
    {
        var all = new List<JsonElement>(state.FullInput.Count + state.Output.Count + newItems.Count);
        all.AddRange(state.FullInput);
        all.AddRange(state.Output.Select(o => o.Json));
        all.AddRange(newItems);
        return all;
    }

    // ---- connection ----
    private void Connect()
    {
        epoch++;
        connected = false;
        var options = ConnectionOptions.From(env.Settings, env.Credentials, epoch);
        var reportsTo = env.ReportsTo?.Invoke(epoch, Self) ?? Self;
        connection = Context.ActorOf(ConnectionActor.Props(options, reportsTo, env.Connector), "ws-" + epoch);
        ArmLivenessIfOrphaned();
    }

    private void DropConnection(bool close)
    {
        if (connection is { } old)
        {
            if (close)
            {
                old.Tell(ConnectionProtocol.Close.Instance);
            }
            else
            {
                Context.Stop(old);
            }
        }

        ForgetClosingConnection();
    }

    /// <summary>
    /// The current connection has reported that it is closing itself (after an error while idle, or its close):
    /// it is no longer used, and its later reports are ignored once a new connection (a new epoch) replaces it.
    /// </summary>
    private void ForgetClosingConnection()
    {
        connection = null;
        connected = false;
        chain = null;
        Timers.Cancel(RotateKey);
        ArmLivenessIfOrphaned();
    }

    /// <summary>A running WebSocket turn that just lost its connection is checked again after the bound.</summary>
    private void ArmLivenessIfOrphaned()
    {
        if (running is { Transport: Transport.WebSocket } r)
        {
            Timers.StartSingleTimer(LivenessKey, new TurnLiveness(r.Pending.Id), settings.OrphanedTurnTimeout);
        }
    }

    private void RotateNow(string why)
    {
        rotations++;
        FantasyMetrics.Rotations.Add(1);
        rotateAfterTurn = false;
        log.Info("session {SessionId}: rotating connection {ConnectionEpoch} ({Why})", key.SessionId, epoch, why);
        DropConnection(close: true);
        Connect();
        if (settings.WarmOnRotate && transcript is { } t)
        {
            // Prime the new connection with the whole chain, so the next turn is a delta again.
            var warm = new SubmitTurn(key, $"warm-{epoch}", PrimingRequest(t), new TurnOptions { GenerateWarmup = true },
                Channel.CreateUnbounded<ApiTurnEvent>().Writer);
            queue.AddFirst(new Pending(warm, Now) { Internal = true });
        }
    }

    private static ResponseRequest PrimingRequest(ChainState t) =>
        ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(t.Settings.GetRawText()))
            .WithInput(Concat(t, []));

    private void OnConnectionReport(IConnectionReport report)
    {
        if (report.Epoch != epoch)
        {
            // A replaced connection's late report; its turns were settled when it was replaced.
            if (report is UpstreamEventReceived stale)
            {
                Sender.Tell(new EventConsumed(stale.TurnId));
            }

            return;
        }

        if (report is TurnCancelled or TurnInterrupted or IdleError)
        {
            // The connection is closing itself: a cancelled or interrupted turn discards its socket, an error
            // while idle closes it (a socket that misbehaved is never reused). A turn sent to it now would be
            // lost, so it gets none: the next turn opens a new connection. A cancel that came while it was
            // still connecting leaves it open, so a cancelled or interrupted one is stopped here as well.
            if (report is IdleError)
            {
                ForgetClosingConnection();
            }
            else
            {
                DropConnection(close: false);
            }
        }

        switch (report)
        {
            case Connected:
                connected = true;
                policy.OnConnected();
                connectedAt = Now;
                var maxAge = env.Settings.Connection.MaxAge;
                var jitter = env.Settings.Connection.MaxAgeJitter * ((Random.Shared.NextDouble() * 2) - 1);
                Timers.StartSingleTimer(RotateKey, new Rotate(epoch), maxAge + jitter);
                TryStartNext();
                break;
            case ConnectFailed failed:
                OnConnectFailed(failed);
                break;
            case UpstreamEventReceived e:
                OnEvent(e.TurnId, e.Event, Transport.WebSocket);
                break;
            case TurnSent sent when running is { } r && r.Pending.Id == sent.TurnId:
                r.Acknowledged = true;
                break;
            case TurnSent:
                break;
            case TurnEnded ended:
                OnTurnEnded(ended);
                break;
            case TurnInterrupted interrupted:
                OnInterrupted(interrupted);
                break;
            case TurnCancelled cancelled when running is { } r && r.Pending.Id == cancelled.TurnId:
                running = null;
                r.Finish(TurnEnd.Cancelled($"cancelled after {r.Delivered} events"));
                AfterTurn();
                break;
            case TurnRefused refused when running is { } r && r.Pending.Id == refused.TurnId:
                // The connection did not take the turn (it is closing, or still busy with a send): it gets no
                // further turn, and this one goes back to the head of the queue for a new connection.
                log.Info("session {SessionId}: connection {ConnectionEpoch} refused turn {TurnId} ({Reason}); it goes to a new connection", key.SessionId, epoch, refused.TurnId, refused.Reason);
                DropConnection(close: true);
                Requeue(r, refused.Reason);
                TryStartNext();
                break;
            case IdleError idle:
                log.Info("session {SessionId}: connection {ConnectionEpoch} reported {Code} while idle; it will be replaced on the next turn", key.SessionId, epoch, idle.Error.Code);
                if (running is { Transport: Transport.WebSocket } sentTo && sentTo.Epoch == idle.Epoch)
                {
                    // The connection reported the error from its idle state, so the turn sent to it had not been
                    // taken yet: it is refused there or dead-lettered. It goes to a new connection instead.
                    Requeue(sentTo, $"connection {idle.Epoch} closed itself ({idle.Error.Code ?? idle.Error.Message}) before it took the turn");
                    TryStartNext();
                }

                break;
            case ConnectionClosed closed:
                ForgetClosingConnection();
                ConnectionGone(closed.Reason);
                TryStartNext();
                break;
        }
    }

    private void OnConnectFailed(ConnectFailed failed)
    {
        // The connection reports the waiting turn (if it had one) separately; a queued head turn fails here.
        log.Warning("session {SessionId}: connection {ConnectionEpoch} could not be opened: {Error}", key.SessionId, epoch, failed.Error.Message);
        var toHttp = policy.OnConnectFailed(failed.Error, Now);
        if (running is null && queue.First is { } head)
        {
            queue.RemoveFirst();
            Timers.Cancel("queue-" + head.Value.Id);
            if (toHttp)
            {
                // The user never waits through a reconnect loop: this turn goes over HTTP now.
                StartHttp(head.Value);
            }
            else
            {
                head.Value.Finish(ConnectFailure(failed.Error));
            }
        }
    }

    private static TurnEnd ConnectFailure(UpstreamError error) =>
        TurnEnd.Failed(
            $"the WebSocket connection was refused ({error.Message}); this is not a transport problem, so the turn is not retried over HTTP",
            retryable: error.Classification != ErrorClass.Fatal, error: error);

    /// <summary>One event of the running turn, from its connection or from the HTTP fallback.</summary>
    private void OnEvent(string turnId, ServerEvent e, Transport from)
    {
        if (running is not { } r || r.Pending.Id != turnId || r.Transport != from)
        {
            Acknowledge(turnId, from);
            return;
        }

        r.Acknowledged = true;

        if (r.Delivered == 0 && e is ErrorEvent { Error: { IsReplaySafe: true } error }
            && (MayReplay(r.Pending, error) || error.Code == UpstreamError.ConnectionLimitReached)
            && (error.Code != UpstreamError.PreviousResponseNotFound || r.FullInput is not null))
        {
            // A lost cache is covered only when the session knows the whole conversation; a caller's
            // unknown id is reported as it is.
            // previous_response_not_found / websocket_connection_limit_reached: resent once, invisibly.
            r.HeldError = error;
            Acknowledge(turnId, from);
            return;
        }

        if (r.Delivered++ == 0 && !r.Pending.Internal)
        {
            r.Pending.Submit.Out.TryWrite(new TurnStarted(r.Transport, r.Chained));
        }

        if (r.Pending.Internal)
        {
            Acknowledge(turnId, from);
        }
        else
        {
            r.Unread.Sent(e.ReceivedBytes);
            r.Pending.Submit.Out.TryWrite(new TurnUpstreamEvent(e));
        }
    }

    /// <summary>An event the caller will never take (held, internal, stale) is acknowledged here.</summary>
    private void Acknowledge(string turnId, Transport from)
    {
        if (from == Transport.Http)
        {
            Sender.Tell(new HttpEventConsumed(turnId, 1));
        }
        else
        {
            Sender.Tell(new EventConsumed(turnId));
        }
    }

    private void OnHttpEnded(HttpTurnEnded ended)
    {
        if (running is not { Transport: Transport.Http } r || r.Pending.Id != ended.TurnId)
        {
            return;
        }

        running = null;
        turns++;

        // A turn served over HTTP resets the WebSocket chain; the transcript keeps the conversation.
        chain = null;
        if (ended.Result.Status == TurnStatus.Completed && r.FullInput is { } full)
        {
            var state = ChainState.After(NoConnection, r.Pending.Submit.Request, full, ended.Result);
            transcript = state.FullInput.Count + state.Output.Count <= settings.MaxTranscriptItems ? state : null;
        }

        r.Finish(ToEnd(ended.Result) with { Metadata = ended.Metadata });
        AfterTurn();
    }

    private void OnTurnEnded(TurnEnded ended)
    {
        if (running is not { } r || r.Pending.Id != ended.TurnId)
        {
            return;
        }

        running = null;
        var result = ended.Result;
        if (r.HeldError is { } held && r.Delivered == 0)
        {
            if (MayReplay(r.Pending, held))
            {
                Replay(r, $"{held.Code}: {held.Message}");
            }
            else
            {
                // Connection after connection aged out before the turn could run on it: the turn goes over HTTP.
                DropConnection(close: false);
                SendOverHttp(r.Pending, $"{r.Pending.Replays + 1} WebSocket connections in a row answered {held.Code}");
            }

            return;
        }

        turns++;
        if (result.Status == TurnStatus.Completed && !r.Pending.Finished)
        {
            // A caller chaining from an id this session does not know leaves no chain (the full conversation
            // is unknown); the caller's next explicit id still goes out as it is.
            chain = r.FullInput is { } full ? ChainState.After(r.Epoch, r.Pending.Submit.Request, full, result) : null;
            transcript = chain is { } c && c.FullInput.Count + c.Output.Count <= settings.MaxTranscriptItems ? c : null;
        }
        else
        {
            chain = null;
        }

        r.Finish(ToEnd(result));
        AfterTurn();
    }

    private void OnInterrupted(TurnInterrupted interrupted)
    {
        if (running is not { } r || r.Pending.Id != interrupted.TurnId)
        {
            return;
        }

        running = null;
        if (r.CancelRequested)
        {
            r.Finish(TurnEnd.Cancelled($"cancelled after {r.Delivered} events"));
        }
        else if (r.Delivered == 0 && !r.Pending.Replayed)
        {
            Replay(r, interrupted.Reason);
            return;
        }
        else
        {
            r.Finish(TurnEnd.Failed(
                $"the connection failed after {r.Delivered} events had been delivered: {interrupted.Reason}",
                retryable: true, result: new TurnResult { Status = TurnStatus.Interrupted }));
        }

        AfterTurn();
    }

    /// <summary>
    /// The current connection is gone (its last report, or its actor stopped) while a turn it was given is still
    /// running here: the turn never waits on a connection that no longer exists.
    /// </summary>
    private void ConnectionGone(string reason)
    {
        if (running is not { Transport: Transport.WebSocket } r || r.Epoch != epoch)
        {
            return;
        }

        if (!r.Acknowledged && r.Delivered == 0 && !r.CancelRequested)
        {
            // The connection closed before it took the turn (it would have reported the turn otherwise).
            Requeue(r, $"connection {r.Epoch} closed before it took the turn: {reason}");
            return;
        }

        OnInterrupted(new TurnInterrupted(r.Epoch, r.Pending.Id, r.Delivered, FrameSent: true, reason));
    }

    /// <summary>
    /// A turn that no connection took goes back to the head of the queue unchanged (nothing was sent, so it is
    /// no replay). A turn that connection after connection does not take goes over HTTP instead of circling for ever.
    /// </summary>
    private void Requeue(Running r, string why)
    {
        running = null;
        if (++r.Pending.Handoffs > MaxHandoffs)
        {
            SendOverHttp(r.Pending, $"{r.Pending.Handoffs} WebSocket connections in a row closed before taking it (last: {why})");
            return;
        }

        log.Info("session {SessionId}: turn {TurnId} goes to a new connection: {Why}", key.SessionId, r.Pending.Id, why);
        queue.AddFirst(r.Pending);
    }

    /// <summary>
    /// Armed when a WebSocket turn is handed to a connection and again whenever the running turn's connection is
    /// forgotten or replaced; when it fires, a turn that still has no live connection that took it ends.
    /// A live connection that took the turn bounds it itself (<c>connection.turn-watchdog</c>).
    /// </summary>
    private void CheckLiveness(string turnId)
    {
        if (running is not { Transport: Transport.WebSocket } r || r.Pending.Id != turnId
            || (connection is not null && connected && r.Epoch == epoch && r.Acknowledged))
        {
            return;
        }

        running = null;
        var state = connection is null ? "no connection" : r.Epoch != epoch ? $"connection {r.Epoch} was replaced" : $"connection {epoch} never took it";
        log.Warning("session {SessionId}: turn {TurnId} had no live connection for {Timeout} ({State}); failing it", key.SessionId, r.Pending.Id, settings.OrphanedTurnTimeout, state);
        if (connection is not null && r.Epoch == epoch)
        {
            // A connection that holds a turn it never acknowledged is not trusted with the next one.
            DropConnection(close: false);
        }

        r.Finish(TurnEnd.Failed(
            $"the turn had no live connection for {settings.OrphanedTurnTimeout} ({state}; session.orphaned-turn-timeout)",
            retryable: true, result: new TurnResult { Status = TurnStatus.Interrupted }));
        AfterTurn();
    }

    /// <summary>
    /// A replay-safe error before the first event is resent once; the connection limit (a fresh connection is
    /// exactly the remedy, and under load a new socket can age out before its first request) up to
    /// <see cref="MaxHandoffs"/> times, so a caller does not see a transport condition it cannot act on.
    /// </summary>
    private static bool MayReplay(Pending pending, UpstreamError error) =>
        pending.Replays == 0 || (error.Code == UpstreamError.ConnectionLimitReached && pending.Replays < MaxHandoffs);

    /// <summary>Nothing reached the caller yet: the same turn once more, full input, on a fresh connection.</summary>
    private void Replay(Running r, string why)
    {
        replays++;
        FantasyMetrics.Replays.Add(1);
        r.Pending.Replays++;
        log.Info("session {SessionId}: turn {TurnId} replayed with full input on a new connection: {Why}", key.SessionId, r.Pending.Id, why);
        queue.AddFirst(r.Pending);
        DropConnection(close: false);
        Connect();
    }

    private void AfterTurn()
    {
        if (rotateAfterTurn)
        {
            RotateNow("connection max-age reached during a turn");
        }

        if (queue.Count == 0)
        {
            Timers.StartSingleTimer(IdleKey, new IdleClose(epoch), settings.IdleCloseAfter);
            Timers.StartSingleTimer(PassivateKey, new SessionIdle(), settings.SessionIdleTimeout);
        }

        TryStartNext();
    }

    /// <summary>The terminal for a response's own end (its transport and chaining are stamped by <see cref="Running.Finish"/>).</summary>
    private static TurnEnd ToEnd(TurnResult result)
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

    // ---- cancel, status, stop ----
    private void Cancel(string turnId)
    {
        for (var node = queue.First; node is not null; node = node.Next)
        {
            if (node.Value.Id == turnId)
            {
                queue.Remove(node);
                Timers.Cancel("queue-" + turnId);
                node.Value.Finish(TurnEnd.Cancelled("cancelled while queued"));
                return;
            }
        }

        if (running is { } r && r.Pending.Id == turnId && !r.CancelRequested)
        {
            r.CancelRequested = true;
            if (r.Transport == Transport.Http)
            {
                env.Http.Tell(new CancelHttpTurn(turnId));
            }
            else if (connection is null || r.Epoch != epoch)
            {
                // Its connection is gone: nothing upstream to stop, the turn ends here.
                running = null;
                r.Finish(TurnEnd.Cancelled($"cancelled after {r.Delivered} events"));
                AfterTurn();
            }
            else
            {
                connection.Tell(new CancelTurn(turnId));
            }
        }
    }

    private SessionStatus Status() => new(
        key.SessionId,
        epoch,
        connection is null ? "none" : connected ? "open" : "connecting",
        connection is not null && connected ? Now - connectedAt : null,
        lastChained,
        turns,
        rotations,
        replays,
        fallbacks,
        queue.Count,
        running is not null,
        policy.Choose(Now),
        policy.Describe(Now),
        running?.Unread.Events ?? 0,
        running?.Unread.Bytes ?? 0);

    protected override void PreRestart(Exception reason, object message)
    {
        // PostStop does not run on restart, and PreStart runs again: keep the open-sessions gauge balanced.
        FantasyMetrics.OpenSessions.Add(-1);
        // A crash: the running turn ends now (its socket goes with the old instance); queued turns survive,
        // re-delivered to the new instance in order.
        if (running is { Transport: Transport.Http } http)
        {
            env.Http.Tell(new CancelHttpTurn(http.Pending.Id), Self);
        }

        if (running is { } crashed)
        {
            crashed.Finish(TurnEnd.Failed($"the session failed while running the turn: {reason.Message}", retryable: true));
        }
        running = null;
        foreach (var pending in queue)
        {
            Self.Tell(pending.Submit);
        }

        queue.Clear();
        base.PreRestart(reason, message);
    }

    protected override void PostStop()
    {
        FantasyMetrics.OpenSessions.Add(-1);
        if (running is { Transport: Transport.Http } http)
        {
            // Its WebSocket connection is a child and stops with the session; an HTTP turn is not.
            env.Http.Tell(new CancelHttpTurn(http.Pending.Id), Self);
        }

        if (running is { } stopped)
        {
            stopped.Finish(TurnEnd.Failed("the session stopped while the turn was running", retryable: true));
        }
        foreach (var pending in queue)
        {
            pending.Finish(TurnEnd.Failed("the session stopped before the turn started", retryable: true));
        }

        queue.Clear();
    }
}
