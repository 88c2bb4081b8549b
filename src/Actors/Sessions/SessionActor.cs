using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Fallback;
using Fantasy.Actors.Protocol;
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
            case GetSessionStatus status when env.Passivation.StartedByAnyMessage && IsFresh:
                // A sharded entity is started by any message; one that never had a turn does not exist for the caller.
                Sender.Tell(new NoSuchSession(status.Key));
                PassivateSelf();
                break;
            case GetSessionStatus:
                Sender.Tell(Status());
                break;
            case CloseSession close when env.Passivation.StartedByAnyMessage:
                Sender.Tell(new SessionClosed(close.Key, !IsFresh));
                Go(Passivating);
                Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance));
                break;
            case StopSession when running is null && queue.Count == 0:
                Context.Stop(Self);
                break;
            case StopSession:
                log.Info("session {SessionId}: handing off after its {Turns} running and queued turns", key.SessionId, queue.Count + (running is null ? 0 : 1));
                Go(Draining);
                break;
            case QueueTimeout timeout:
                ExpireQueued(timeout.TurnId);
                break;
            case HttpEventReceived e:
                OnEvent(e.TurnId, e.Event, Transport.Http);
                break;
            case HttpTurnEnded ended when running is { Transport: Transport.Http } r && r.Id == ended.TurnId:
                turns++;
                chain.Ended(SessionChain.NoConnection, r.Pending.Submit.Request, r.FullInput, ended.Result);
                EndRunning(r, TurnEnds.FromResult(ended.Result) with { Metadata = ended.Metadata });
                break;
            case HttpTurnFailed failed when running is { Transport: Transport.Http } r && r.Id == failed.TurnId:
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

    // ---- queue ----
    private void Enqueue(SubmitTurn submit)
    {
        if (env.Passivation.TurnsMayRepeat && !taken.Add(submit.TurnId))
        {
            // A copy of a turn this session already took: acknowledged again (the first acknowledgement may be what
            // was lost), never run twice.
            if (running?.Id == submit.TurnId || queue.Contains(submit.TurnId))
            {
                submit.Out.Accepted(Self);
            }

            return;
        }

        var turn = new PendingTurn(submit);
        if (queue.IsFull)
        {
            log.Warning("session {SessionId}: turn {TurnId} rejected: {Queued} turns already queued (session.max-queued-turns)", key.SessionId, submit.TurnId, queue.Count);
            turn.Finish(TurnEnds.QueueFull(queue.Count, queue.Bound));
            return;
        }

        queue.Add(turn);
        submit.Out.Accepted(Self);
        turn.StartBy = Now + settings.QueueWaitTimeout;
        Timers.StartSingleTimer(TurnQueue.TimeoutKey(turn.Id), new QueueTimeout(turn.Id), settings.QueueWaitTimeout);
        deadlines.Busy();
        TryStartNext();
    }

    private void ExpireQueued(string turnId)
    {
        if (queue.Remove(turnId) is { } expired)
        {
            log.Warning("session {SessionId}: turn {TurnId} waited {Wait} in the queue; rejected", key.SessionId, turnId, settings.QueueWaitTimeout);
            expired.Finish(TurnEnds.QueueTimeout(settings.QueueWaitTimeout));
        }
    }

    /// <summary>The head turn goes out when it can: over HTTP when the policy says so, else on an open connection.</summary>
    private void TryStartNext()
    {
        if (running is not null || queue.Count == 0 || dispatchHeld)
        {
            return;
        }

        if (connection is null && policy.Choose(Now) == Transport.Http && !(probeWebSocket && !policy.Sticky))
        {
            StartHttp(TakeHead());
            return;
        }

        if (connection is null)
        {
            Connect();
        }
        else if (connected)
        {
            Start(TakeHead());
        }
    }

    private PendingTurn TakeHead()
    {
        var head = queue.TakeHead()!;
        Timers.Cancel(TurnQueue.TimeoutKey(head.Id));
        return head;
    }

    /// <summary>
    /// The HTTP fallback had no room for the running turn (nothing of it reached the caller). Rather than fail
    /// it at once — in a burst of connect failures that would reject every turn past the fallback's queue — it
    /// goes back to the head of the queue and waits (<see cref="TransportPolicy.BusyFallbackWait"/>), then tries
    /// a WebSocket connection again, then the fallback, until its <c>session.queue-wait-timeout</c> runs out.
    /// Returns false when there is no time left for that: the rejection stands.
    /// </summary>
    private bool WaitForRoom(RunningTurn r, string reason)
    {
        var pending = r.Pending;
        var wait = TransportPolicy.BusyFallbackWait(pending.FallbackBusy + 1, Random.Shared.NextDouble());
        var left = pending.StartBy - Now;
        if (pending.Internal || left <= wait)
        {
            return false;
        }

        pending.FallbackBusy++;
        running = null;
        queue.PutBack(pending);
        Timers.StartSingleTimer(TurnQueue.TimeoutKey(pending.Id), new QueueTimeout(pending.Id), left);
        dispatchHeld = true;
        probeWebSocket = true;
        Timers.StartSingleTimer(RetryDispatchKey, RetryDispatch.Instance, wait);
        log.Info("session {SessionId}: turn {TurnId} waits {Wait} for a connection or room in the HTTP fallback ({Reason}); {Left} left to start",
            key.SessionId, pending.Id, wait, reason, left);
        return true;
    }

    /// <summary>The turn goes over HTTP: the full input (the session's transcript covers a caller chaining from one of its ids).</summary>
    private void StartHttp(PendingTurn pending)
    {
        var submit = pending.Submit;
        if (submit.Options.GenerateWarmup)
        {
            pending.Finish(TurnEnds.WarmupNeedsWebSocket(policy.Describe(Now)));
            TryStartNext();
            return;
        }

        fallbacks++;
        FantasyMetrics.FellBack();
        var (plan, fullInput) = chain.Plan(submit, SessionChain.NoConnection, forceFresh: true);
        var body = submit.Request.ToHttpBody(plan is ChainPlan.Continue c ? c.PreviousResponseId : null, plan.Input, stream: true);
        var reason = policy.Describe(Now);
        running = new RunningTurn(pending, SessionChain.NoConnection, plan, fullInput) { Transport = Transport.Http, BytesSent = body.Length, TransportReason = reason };
        chain.WentOut(plan, overHttp: true);
        log.Info("session {SessionId}: turn {TurnId} over HTTP ({Reason})", key.SessionId, pending.Id, reason);
        env.Http.Tell(new RunHttpTurn(pending.Id, body, Self, env.ConsumerWindow, env.ConsumerWindowBytes, FoldDeltas: !submit.Options.PassThrough));
    }

    /// <summary>The caller took <paramref name="count"/> events: the transport may read further.</summary>
    private void Taken(RunningTurn r, int count)
    {
        r.Unread.Consumed(count);
        if (r.Transport == Transport.Http)
        {
            env.Http.Tell(new HttpEventConsumed(r.Id, count));
        }
        else if (connection is not null)
        {
            connection.Tell(new EventConsumed(r.Id, count));
        }
    }

    /// <summary>The running turn ends with <paramref name="end"/>, and the session moves on.</summary>
    private void EndRunning(RunningTurn r, TurnEnd end)
    {
        running = null;
        r.Finish(end);
        AfterTurn();
    }

    private void AfterTurn()
    {
        if (rotateAfterTurn)
        {
            RotateNow("connection max-age reached during a turn");
        }

        if (phase == nameof(Draining) && queue.Count == 0)
        {
            // Handed off (cluster): the last turn has ended, the session moves now.
            Context.Stop(Self);
            return;
        }

        if (queue.Count == 0)
        {
            var now = Now;
            deadlines.IdleFrom(now + settings.IdleCloseAfter, epoch, now + settings.SessionIdleTimeout);
            ArmDeadlines();
        }

        TryStartNext();
    }

    /// <summary>A session that never had a turn (a sharded entity started by a status or close request).</summary>
    private bool IsFresh => turns == 0 && running is null && queue.Count == 0 && connection is null;

    /// <summary>Asks the owner (the local manager, or the cluster shard) to stop this session behind what it already has.</summary>
    private void PassivateSelf()
    {
        Go(Passivating);
        env.Passivation.Passivate(Context, key);
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
        var idle = running is null && queue.Count == 0;
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
        running?.Unread.Bytes ?? 0);

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
        foreach (var pending in queue.TakeAll())
        {
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
        foreach (var pending in queue.TakeAll())
        {
            pending.Finish(TurnEnds.SessionStoppedBeforeStart());
        }
    }

    /// <summary>A warm-up for a rotated connection: the whole transcript, <c>generate:false</c>, no caller.</summary>
    private PendingTurn? PrimingTurn() =>
        chain.PrimingRequest() is { } request
            ? new PendingTurn(new SubmitTurn(key, $"warm-{epoch}", request, new TurnOptions { GenerateWarmup = true }, new ChannelTurnOutput(Channel.CreateUnbounded<TurnEvent>().Writer))) { Internal = true }
            : null;
}
