using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Fallback;
using static Fantasy.Actors.Connections.ConnectionProtocol;
using static Fantasy.Actors.Fallback.HttpFallbackProtocol;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// One conversation: a FIFO of turns with one in flight (<see cref="TurnQueue"/>), the chain and transcript
/// (<see cref="SessionChain"/>), the transport choice (<see cref="TransportPolicy"/>), and the parent of the
/// conversation's ConnectionActor. The actor only dispatches: each message asks one of those plain types and acts.
/// <code>
///   Active ──no turn for session-idle-timeout──▶ Passivating (messages for the session go back to the manager)
///
///   turn queue ─▶ plan (SessionChain) ─▶ StartTurn on connection ws-{epoch} ─▶ events ─▶ caller
///                                          │ previous_response_not_found / limit reached before any event
///                                          └─▶ once more, full input, on a fresh connection (invisible)
///   one deadline timer (SessionDeadlines): rotation at max-age ± jitter (idle → replace now; busy → after the
///   turn), the idle close of the socket, the idle stop of the session
/// </code>
/// Every accepted turn gets exactly one <see cref="TurnFinished"/>: completion, failure, cancellation or
/// rejection — also when the connection dies, the session crashes, or the session stops. The connection side
/// (opening, reports, replays, liveness) is in <c>SessionActor.Connection.cs</c>.
/// </summary>
internal sealed partial class SessionActor : UntypedActor, IWithTimers
{
    private const string DeadlineKey = "deadline";
    private const string LivenessKey = "turn-liveness";

    private readonly SessionKey key;
    private readonly SessionEnvironment env;
    private readonly SessionSettings settings;
    private readonly ILoggingAdapter log;
    private readonly TurnQueue queue;
    private readonly SessionChain chain;
    private readonly TransportPolicy policy;
    private readonly SessionDeadlines deadlines = new();

    /// <summary>Turn ids this session took (sharded: a relay may send a turn again until it is accepted).</summary>
    private readonly RecentIds taken = new(256);
    private RunningTurn? running;
    private bool rotateAfterTurn;
    private bool flushScheduled;

    /// <summary>The head turn waits for the HTTP fallback to have room (<see cref="RetryDispatch"/> ends the wait).</summary>
    private bool dispatchHeld;

    /// <summary>The next dispatch tries a WebSocket connection whatever the fallback cooldown says (the fallback was full).</summary>
    private bool probeWebSocket;
    private int turns;
    private int rotations;
    private int replays;
    private int fallbacks;

    public SessionActor(SessionKey key, SessionEnvironment env)
    {
        this.key = key;
        this.env = env;
        settings = env.Settings.Session;
        queue = new TurnQueue(settings.MaxQueuedTurns);
        chain = new SessionChain(settings.MaxTranscriptItems);
        policy = new TransportPolicy(env.Settings.Fallback);
        log = Context.GetLogger().WithContext("SessionId", key.SessionId).WithContext("Tenant", key.Tenant);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SessionKey key, SessionEnvironment env) =>
        Akka.Actor.Props.Create(() => new SessionActor(key, env));

    private static DateTimeOffset Now => Context.System.Scheduler.Now;

    private sealed record QueueTimeout(string TurnId);

    /// <summary>The wait after a full HTTP fallback is over: the head turn is dispatched again.</summary>
    private sealed class RetryDispatch
    {
        public static readonly RetryDispatch Instance = new();
    }

    private const string RetryDispatchKey = "retry-dispatch";

    /// <summary>The session's one deadline timer fired (rotation, idle close, idle stop: <see cref="SessionDeadlines"/>).</summary>
    private sealed class DeadlineReached
    {
        public static readonly DeadlineReached Instance = new();
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        // A connection that throws is stopped, never restarted: its PostStop reports the running turn
        // interrupted and the connection closed, and the session replaces it on the next turn.
        Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart()
    {
        FantasyMetrics.SessionStarted();
        if (env.Durable)
        {
            OpenRecords();
        }

        deadlines.StopAt(Now + settings.SessionIdleTimeout);
        ArmDeadlines();
    }

    protected override void OnReceive(object message) => Active(message);

    /// <summary>The current phase's name: Active, Draining (handing off after its turns) or Passivating.</summary>
    private string phase = nameof(Active);

    private void Go(UntypedReceive next)
    {
        phase = next.Method.Name;
        Become(next);
    }

    // ---- phases ----
    private void Active(object message)
    {
        if (env.Durable && OnJournal(message))
        {
            return;
        }

        switch (message)
        {
            case DeadlineReached:
                OnDeadlines();
                break;
            case FlushOutput:
                flushScheduled = false;
                running?.Pending.Submit.Out.Flush();
                break;
            case SubmitTurn submit:
                Enqueue(submit);
                break;
            case TurnEventTaken taken when running is { } r && r.Id == taken.TurnId:
                Taken(r, taken.Count);
                break;
            case CancelSessionTurn cancel:
                Cancel(cancel.TurnId);
                break;
            case GetSessionStatus when recovering:
                (afterRecovery ??= []).Add((message, Sender));
                break;
            case GetSessionStatus status when env.Passivation.StartedByAnyMessage && IsFresh:
                // A sharded entity is started by any message; one that never had a turn does not exist for the caller.
                Sender.Tell(new NoSuchSession(status.Key));
                PassivateSelf();
                break;
            case GetSessionStatus:
                Sender.Tell(Status());
                break;
            case CloseSession close:
                Close(close);
                break;
            case StopSession when running is null && queue.Count == 0 && writing is null:
                Context.Stop(Self);
                break;
            case StopSession:
                log.Info("session {SessionId}: handing off after its {Turns} running and queued turns", key.SessionId, queue.Count + (running is null ? 0 : 1));
                Go(Draining);
                break;
            case QueueTimeout timeout:
                ExpireQueued(timeout.TurnId);
                break;
            case Limits.UpstreamBudgetProtocol.MaySend may:
                OnMaySend(may.TurnId);
                break;
            case HttpEventReceived e:
                OnEvent(e.TurnId, e.Event, Transport.Http);
                break;
            case HttpTurnEnded ended when running is { Transport: Transport.Http } r && r.Id == ended.TurnId:
                Heard(ended.Metadata);
                turns++;
                var before = chain.Transcript;
                chain.Ended(SessionChain.NoConnection, r.Pending.Submit.Request, r.FullInput, ended.Result);
                Complete(r, TurnEnds.FromResult(ended.Result) with { Metadata = ended.Metadata }, before);
                break;
            case HttpTurnFailed failed when running is { Transport: Transport.Http } r && r.Id == failed.TurnId
                && failed.EventsForwarded == 0 && TurnRecovery.WaitsForBudget(r, failed.Error, env.Budget is not null):
                Heard(failed.Metadata);
                WaitForBudget(r, failed.Error);
                break;
            case HttpTurnFailed failed when running is { Transport: Transport.Http } r && r.Id == failed.TurnId:
                Heard(failed.Metadata);
                log.Warning("session {SessionId}: turn {TurnId} failed over HTTP after {Attempts} attempts: {Error}", key.SessionId, failed.TurnId, failed.Attempts, failed.Error.Message);
                EndRunning(r, TurnEnds.FailedOverHttp(failed.Error, failed.Retryable) with { Metadata = failed.Metadata });
                break;
            case HttpTurnRejected { Rejection: Rejection.FallbackBusy } busy when running is { Transport: Transport.Http } r && r.Id == busy.TurnId
                && WaitForRoom(r, busy.Reason):
                break;
            case HttpTurnRejected rejected when running is { Transport: Transport.Http } r && r.Id == rejected.TurnId:
                EndRunning(r, TurnEnds.Rejected(rejected.Rejection, rejected.Reason));
                break;
            case RetryDispatch:
                dispatchHeld = false;
                TryStartNext();
                break;
            case HttpTurnCancelled cancelled when running is { Transport: Transport.Http } r && r.Id == cancelled.TurnId:
                EndRunning(r, TurnEnds.Cancelled(cancelled.EventsForwarded));
                break;
            case IConnectionReport report:
                OnConnectionReport(report);
                break;
            case TurnLiveness liveness:
                CheckLiveness(liveness.TurnId);
                break;
            case TurnEventTaken
                or HttpTurnEnded or HttpTurnFailed or HttpTurnRejected or HttpTurnCancelled:
                // Late: the turn, connection or idle period it was about is over.
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>The shard is handing this session off: its running and queued turns finish here, then it stops (<see cref="AfterTurn"/>).</summary>
    private void Draining(object message) => Active(message);

    /// <summary>The manager is stopping this session: what is meant for the session goes back to it, buffered for the next incarnation.</summary>
    private void Passivating(object message)
    {
        if (message is IWithSessionId)
        {
            Context.Parent.Forward(message);
            return;
        }

        Active(message);
    }

    // ---- deadlines ----
    private void ArmDeadlines()
    {
        if (deadlines.Rearm(Now) is { } delay)
        {
            Timers.StartSingleTimer(DeadlineKey, DeadlineReached.Instance, delay);
        }
    }

    private void OnDeadlines()
    {
        var (due, rotateEpoch, idleCloseEpoch) = deadlines.Fired(Now);
        var idle = running is null && queue.Count == 0 && writing is null && !recovering;
        if (due.HasFlag(SessionDeadlines.Due.Stop) && idle)
        {
            log.Info("session {SessionId}: no turn for {Timeout}; stopping the session", key.SessionId, settings.SessionIdleTimeout);
            PassivateSelf();
            return;
        }

        if (due.HasFlag(SessionDeadlines.Due.IdleClose) && idleCloseEpoch == epoch && idle && connection is not null)
        {
            log.Info("session {SessionId}: no turn for {IdleCloseAfter}; closing connection {ConnectionEpoch}", key.SessionId, settings.IdleCloseAfter, epoch);
            DropConnection(close: true);
        }

        if (due.HasFlag(SessionDeadlines.Due.Rotate) && rotateEpoch == epoch && connection is not null)
        {
            if (running is not null)
            {
                rotateAfterTurn = true;
            }
            else
            {
                RotateNow("connection max-age reached");
            }
        }

        ArmDeadlines();
    }

    // ---- cancel, status, stop ----
    private void Cancel(string turnId)
    {
        if (queue.Remove(turnId) is { } waiting)
        {
            ReleasePermit(waiting);
            Timers.Cancel(TurnQueue.TimeoutKey(turnId));
            waiting.Finish(TurnEnds.CancelledWhileQueued());
            return;
        }

        if (running is not { } r || r.Id != turnId || r.CancelRequested)
        {
            return;
        }

        r.CancelRequested = true;
        if (r.Transport == Transport.Http)
        {
            env.Http.Tell(new CancelHttpTurn(turnId));
        }
        else if (connection is null || r.Epoch != epoch)
        {
            // Its connection is gone: nothing upstream to stop, the turn ends here.
            EndRunning(r, TurnEnds.Cancelled(r.Delivered));
        }
        else
        {
            connection.Tell(new CancelTurn(turnId));
        }
    }

    private SessionStatus Status() => new(
        key.SessionId,
        epoch,
        connection is null ? ConnectionState.None : connected ? ConnectionState.Open : ConnectionState.Connecting,
        connection is not null && connected ? Now - connectedAt : null,
        chain.LastChained,
        turns,
        rotations,
        replays,
        fallbacks,
        queue.Count,
        running is not null,
        policy.Choose(Now),
        policy.Describe(Now),
        running?.Unread.Events ?? 0,
        running?.Unread.Bytes ?? 0,
        running is null && queue.Head is { Permit: BudgetPermit.Asked });

    protected override void PreRestart(Exception reason, object message)
    {
        // PostStop does not run on restart, and PreStart runs again: keep the open-sessions gauge balanced.
        FantasyMetrics.SessionStopped();

        // A crash: the running turn ends now (its socket goes with the old instance); queued turns survive,
        // re-delivered to the new instance in order.
        if (running is { Transport: Transport.Http } http)
        {
            env.Http.Tell(new CancelHttpTurn(http.Id), Self);
        }

        running?.Finish(TurnEnds.SessionCrashed(reason.Message));
        running = null;
        writing?.Turn.Finish(TurnEnds.SessionCrashed(reason.Message));
        writing = null;
        foreach (var pending in queue.TakeAll())
        {
            ReleasePermit(pending);
            Self.Tell(pending.Submit);
        }

        base.PreRestart(reason, message);
    }

    protected override void PostStop()
    {
        FantasyMetrics.SessionStopped();
        if (running is { Transport: Transport.Http } http)
        {
            // Its WebSocket connection is a child and stops with the session; an HTTP turn is not.
            env.Http.Tell(new CancelHttpTurn(http.Id), Self);
        }

        running?.Finish(TurnEnds.SessionStoppedWhileRunning());
        writing?.Turn.Finish(TurnEnds.SessionStoppedWhileRunning());
        foreach (var pending in queue.TakeAll())
        {
            ReleasePermit(pending);
            pending.Finish(TurnEnds.SessionStoppedBeforeStart());
        }
    }

    /// <summary>A warm-up for a rotated connection: the whole transcript, <c>generate:false</c>, no caller.</summary>
    private PendingTurn? PrimingTurn() =>
        chain.PrimingRequest() is { } request
            ? new PendingTurn(new SubmitTurn(key, $"warm-{epoch}", request, new TurnOptions { GenerateWarmup = true }, new ChannelTurnOutput(Channel.CreateUnbounded<TurnEvent>().Writer))) { Internal = true }
            : null;
}
