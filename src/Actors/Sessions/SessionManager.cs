using Akka.Actor;
using Akka.Event;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// Owns the sessions: one child per <c>{tenant}~{conversation}</c>, created by its first turn and routed to
/// by <see cref="IWithSessionId"/>. A session that crashes is restarted (bounded), keeping its queued turns.
/// </summary>
internal sealed class SessionManager : UntypedActor
{
    private readonly SessionEnvironment env;
    private readonly ILoggingAdapter log = Context.GetLogger();

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
        if (message is not IWithSessionId routed)
        {
            Unhandled(message);
            return;
        }

        var name = routed.Key.SessionId;
        var child = Context.Child(name);
        if (child.IsNobody())
        {
            switch (message)
            {
                case SubmitTurn:
                    child = Context.ActorOf(SessionActor.Props(routed.Key, env), name);
                    break;
                case GetSessionStatus status:
                    Sender.Tell(new NoSuchSession(status.Key));
                    return;
                case CloseSession close:
                    Sender.Tell(new SessionClosed(close.Key, false));
                    return;
                default:
                    return;
            }
        }

        child.Forward(message);
    }
}
