using Akka.Actor;
using Akka.Event;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// Owns the sessions: one child per <c>{tenant}~{conversation}</c>, created by its first turn and routed to
/// by <see cref="IWithSessionId"/>, in this process (a turn's messages carry its caller's channel). A session that
/// crashes is restarted (bounded), keeping its queued turns. A session being stopped (closed, or idle for
/// <c>session-idle-timeout</c>) is stopped in order behind the messages it already has; messages that arrive
/// meanwhile are buffered and start its next incarnation.
/// </summary>
internal sealed class SessionManager : UntypedActor
{
    /// <summary>Messages kept for a session that is stopping; past it a turn is rejected and anything else dropped (Akka's <c>Shard</c> bounds its buffer the same way).</summary>
    internal const int MaxBufferedPerSession = 1000;

    private readonly SessionEnvironment env;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> live = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> names = new();
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> stopping = new(StringComparer.Ordinal);

    public SessionManager(SessionEnvironment env) => this.env = env;

    public static Props Props(SessionEnvironment env) => Akka.Actor.Props.Create(() => new SessionManager(env));

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(10, TimeSpan.FromMinutes(1), ex =>
        {
            log.Error(ex, "a session crashed; restarting it");
            return Directive.Restart;
        });

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Passivate passivate when live.TryGetValue(passivate.Key.SessionId, out var child) && child.Equals(Sender):
                Stop(passivate.Key.SessionId, child);
                break;
            case Passivate:
                break;
            case Terminated terminated:
                OnTerminated(terminated.ActorRef);
                break;
            case IWithSessionId routed:
                Route(routed);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Route(IWithSessionId routed)
    {
        var id = routed.Key.SessionId;
        if (stopping.TryGetValue(id, out var buffer))
        {
            if (routed is CloseSession { Forget: true } && env.Durable)
            {
                // Deleting its records waits until the stopping session has gone (it may be writing a turn).
                buffer.Add((routed, Sender));
            }
            else if (routed is CloseSession)
            {
                Sender.Tell(new SessionClosed(routed.Key, true));
            }
            else if (buffer.Count < MaxBufferedPerSession)
            {
                buffer.Add((routed, Sender));
            }
            else if (routed is SubmitTurn submit)
            {
                log.Warning("session {SessionId} is stopping and {Buffered} messages already wait for it; turn {TurnId} rejected", id, buffer.Count, submit.TurnId);
                new PendingTurn(submit).Finish(TurnEnds.SessionRestarting(buffer.Count));
            }
            else
            {
                Context.System.DeadLetters.Tell(routed, Sender);
            }

            return;
        }

        if (routed is CloseSession { Forget: true } forget && env.Durable)
        {
            // The session deletes its records (after a write in flight), answers and stops; a session not running is
            // started for it (it reads what it had, so the answer says whether it existed).
            var session = live.GetValueOrDefault(id) ?? Create(forget.Key);
            live.Remove(id);
            stopping[id] = [];
            session.Forward(forget);
            return;
        }

        if (live.TryGetValue(id, out var child))
        {
            if (routed is CloseSession close)
            {
                Sender.Tell(new SessionClosed(close.Key, true));
                Stop(id, child);
            }
            else
            {
                child.Forward(routed);
            }

            return;
        }

        switch (routed)
        {
            case SubmitTurn:
                Create(routed.Key).Forward(routed);
                break;
            case GetSessionStatus status:
                Sender.Tell(new NoSuchSession(status.Key));
                break;
            case CloseSession close:
                Sender.Tell(new SessionClosed(close.Key, false));
                break;
        }
    }

    private IActorRef Create(Contract.SessionKey key)
    {
        var child = Context.ActorOf(SessionActor.Props(key, env), key.SessionId);
        Context.Watch(child);
        live[key.SessionId] = child;
        names[child] = key.SessionId;
        return child;
    }

    /// <summary>Stops a session behind the messages already in its mailbox (PoisonPill is ordered).</summary>
    private void Stop(string id, IActorRef child)
    {
        live.Remove(id);
        stopping[id] = [];
        child.Tell(PoisonPill.Instance);
    }

    private void OnTerminated(IActorRef child)
    {
        if (!names.Remove(child, out var id))
        {
            return;
        }

        if (live.TryGetValue(id, out var current) && current.Equals(child))
        {
            // Stopped without being asked (restarts exhausted): its turns were settled in PostStop.
            live.Remove(id);
            log.Warning("session {SessionId} stopped unexpectedly", id);
        }

        if (!stopping.Remove(id, out var buffered) || buffered.Count == 0)
        {
            return;
        }

        if (buffered.Exists(b => b.Message is CloseSession { Forget: true }))
        {
            // Routed again in order: the forgetting close starts a session of its own, which stops after it.
            foreach (var (msg, sender) in buffered)
            {
                Self.Tell(msg, sender);
            }

            return;
        }

        if (buffered.Exists(b => b.Message is SubmitTurn))
        {
            var next = Create(((IWithSessionId)buffered[0].Message).Key);
            foreach (var (msg, sender) in buffered)
            {
                next.Tell(msg, sender);
            }

            return;
        }

        foreach (var (msg, sender) in buffered)
        {
            if (msg is GetSessionStatus status)
            {
                sender.Tell(new NoSuchSession(status.Key));
            }
        }
    }
}
