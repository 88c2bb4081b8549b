using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Configuration;
using static Fantasy.Actors.Fallback.HttpFallbackProtocol;

namespace Fantasy.Actors.Fallback;

/// <summary>
/// Runs the turns that go over HTTP: one <see cref="HttpTurnActor"/> child per turn, at most
/// <c>http.max-in-flight</c> at once; beyond that turns wait (at most <c>http.max-waiting</c>, each at most
/// <c>http.wait-timeout</c>) and are rejected with a clear reason otherwise.
/// </summary>
internal sealed class HttpFallbackActor : UntypedActor, IWithTimers
{
    private readonly FantasySettings settings;
    private readonly HttpClient client;
    private readonly UpstreamCredentials credentials;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly LinkedList<RunHttpTurn> waiting = new();
    private readonly Dictionary<(IActorRef ReplyTo, string TurnId), IActorRef> running = new();
    private readonly Dictionary<IActorRef, (IActorRef ReplyTo, string TurnId)> byChild = new();
    private int maxSeen;
    private long started;
    private long rejected;

    public HttpFallbackActor(FantasySettings settings, HttpClient client, UpstreamCredentials credentials)
    {
        this.settings = settings;
        this.client = client;
        this.credentials = credentials;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(FantasySettings settings, HttpClient client, UpstreamCredentials credentials) =>
        Akka.Actor.Props.Create(() => new HttpFallbackActor(settings, client, credentials));

    private sealed record WaitExpired(IActorRef ReplyTo, string TurnId);

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case RunHttpTurn run:
                Admit(run);
                break;
            case HttpEventConsumed consumed when running.TryGetValue((Sender, consumed.TurnId), out var child):
                child.Tell(consumed);
                break;
            case HttpEventConsumed:
                break;
            case CancelHttpTurn cancel:
                Cancel(Sender, cancel.TurnId);
                break;
            case WaitExpired expired:
                Expire(expired);
                break;
            case Terminated terminated:
                if (byChild.Remove(terminated.ActorRef, out var key))
                {
                    running.Remove(key);
                }

                StartWaiting();
                break;
            case GetHttpStats:
                Sender.Tell(new HttpStats(running.Count, waiting.Count, maxSeen, started, rejected));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Admit(RunHttpTurn run)
    {
        if (running.Count < settings.Http.MaxInFlight)
        {
            Start(run);
            return;
        }

        if (waiting.Count >= settings.Http.MaxWaiting)
        {
            rejected++;
            log.Warning("http fallback: turn {TurnId} rejected: {InFlight} in flight and {Waiting} waiting", run.TurnId, running.Count, waiting.Count);
            run.ReplyTo.Tell(new HttpTurnRejected(run.TurnId, Contract.Rejection.FallbackBusy,
                $"the HTTP fallback has {running.Count} turns in flight and {waiting.Count} waiting (fantasy.http.max-in-flight = {settings.Http.MaxInFlight}, max-waiting = {settings.Http.MaxWaiting})"));
            return;
        }

        waiting.AddLast(run);
        Timers.StartSingleTimer(WaitKey(run.ReplyTo, run.TurnId), new WaitExpired(run.ReplyTo, run.TurnId), settings.Http.WaitTimeout);
    }

    private void Start(RunHttpTurn run)
    {
        started++;
        var child = Context.ActorOf(HttpTurnActor.Props(run, settings, client, credentials));
        Context.Watch(child);
        running[(run.ReplyTo, run.TurnId)] = child;
        byChild[child] = (run.ReplyTo, run.TurnId);
        maxSeen = Math.Max(maxSeen, running.Count);
    }

    private void StartWaiting()
    {
        while (running.Count < settings.Http.MaxInFlight && waiting.First is { } next)
        {
            waiting.RemoveFirst();
            Timers.Cancel(WaitKey(next.Value.ReplyTo, next.Value.TurnId));
            Start(next.Value);
        }
    }

    private void Expire(WaitExpired expired)
    {
        for (var node = waiting.First; node is not null; node = node.Next)
        {
            if (node.Value.TurnId == expired.TurnId && node.Value.ReplyTo.Equals(expired.ReplyTo))
            {
                waiting.Remove(node);
                rejected++;
                expired.ReplyTo.Tell(new HttpTurnRejected(expired.TurnId, Contract.Rejection.FallbackTimeout,
                    $"the turn waited {settings.Http.WaitTimeout} for an HTTP slot (fantasy.http.wait-timeout)"));
                return;
            }
        }
    }

    private void Cancel(IActorRef replyTo, string turnId)
    {
        if (running.TryGetValue((replyTo, turnId), out var child))
        {
            child.Tell(new CancelHttpTurn(turnId));
            return;
        }

        for (var node = waiting.First; node is not null; node = node.Next)
        {
            if (node.Value.TurnId == turnId && node.Value.ReplyTo.Equals(replyTo))
            {
                waiting.Remove(node);
                Timers.Cancel(WaitKey(replyTo, turnId));
                replyTo.Tell(new HttpTurnCancelled(turnId, 0));
                return;
            }
        }
    }

    private static string WaitKey(IActorRef replyTo, string turnId) => "wait-" + replyTo.Path + "|" + turnId;
}
