using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Cluster.RelayProtocol;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// On the caller's node, the end of every turn whose session may live elsewhere: it writes the relayed events into
/// the caller's channel (the caller's reads still go back to the session as <c>TurnEventTaken</c>, so the consumer
/// window holds across nodes), folds them into the turn's result, and writes the one terminal. It watches the
/// session that accepted each turn: if that session — or its node — goes away before the turn's terminal, the turn
/// ends <see cref="TurnOutcome.Failed"/> (retryable) at once; a turn no session accepts within
/// <c>fantasy.cluster.accept-timeout</c> ends the same way. A turn never hangs on a lost node.
/// </summary>
internal sealed class TurnRelay : UntypedActor, IWithTimers
{
    private readonly TimeSpan acceptTimeout;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<string, Relayed> turns = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, HashSet<string>> bySession = new();

    public TurnRelay(TimeSpan acceptTimeout) => this.acceptTimeout = acceptTimeout;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(TimeSpan acceptTimeout) => Akka.Actor.Props.Create(() => new TurnRelay(acceptTimeout));

    /// <summary>From the API on this node, before the turn is sent: where its events go.</summary>
    public sealed record Register(string TurnId, SessionKey Key, ChannelWriter<TurnEvent> Out) : INoSerializationVerificationNeeded;

    private sealed record AcceptTimedOut(string TurnId);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Register register:
                turns[register.TurnId] = new Relayed(register.Key, register.Out);
                Timers.StartSingleTimer(register.TurnId, new AcceptTimedOut(register.TurnId), acceptTimeout);
                break;
            case TurnAccepted accepted when turns.TryGetValue(accepted.TurnId, out var turn):
                Timers.Cancel(accepted.TurnId);
                turn.Session = Sender;
                if (!bySession.TryGetValue(Sender, out var ids))
                {
                    bySession[Sender] = ids = new HashSet<string>(StringComparer.Ordinal);
                    Context.Watch(Sender);
                }

                ids.Add(accepted.TurnId);
                break;
            case RelayedStarted started when turns.TryGetValue(started.TurnId, out var turn):
                turn.Started = started;
                turn.Out.TryWrite(new TurnStarted(started.Transport, started.Chained));
                break;
            case RelayedEvent relayed when turns.TryGetValue(relayed.TurnId, out var turn):
                OnEvent(relayed, turn);
                break;
            case RelayedFinished finished when turns.TryGetValue(finished.TurnId, out var turn):
                var result = turn.Events > 0
                    ? turn.Result.ToResult() with { Status = finished.End.Result.Status }
                    : finished.End.Result;
                Finish(finished.TurnId, turn, finished.End with { Result = result });
                break;
            case AcceptTimedOut timedOut when turns.TryGetValue(timedOut.TurnId, out var turn):
                log.Warning("turn {TurnId} of session {SessionId}: no node took it within {Timeout} (fantasy.cluster.accept-timeout)", timedOut.TurnId, turn.Key, acceptTimeout);
                Finish(timedOut.TurnId, turn, Lost(turn, $"no node took the turn within {acceptTimeout} (fantasy.cluster.accept-timeout)"));
                break;
            case Terminated terminated:
                OnSessionGone(terminated);
                break;
            case TurnAccepted or RelayedStarted or RelayedEvent or RelayedFinished or AcceptTimedOut:
                // The turn has already ended here (its session or node was lost first).
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private static void OnEvent(RelayedEvent relayed, Relayed turn)
    {
        ServerEvent e;
        try
        {
            e = EventParser.Parse(relayed.Json, keepRaw: true);
        }
        catch (ProtocolException)
        {
            // The owning node parsed these bytes already; should they not parse here, they are passed on, not lost.
            e = new UnknownEvent("invalid", relayed.Json);
        }

        turn.Events++;
        turn.Result.Apply(e);
        turn.Out.TryWrite(new TurnUpstreamEvent(e));
    }

    private void OnSessionGone(Terminated terminated)
    {
        if (!bySession.Remove(terminated.ActorRef, out var ids))
        {
            return;
        }

        var why = terminated.AddressTerminated
            ? $"the node that owned the session ({terminated.ActorRef.Path.Address}) was lost before the turn ended"
            : "the session stopped before the turn ended";
        foreach (var id in ids)
        {
            if (turns.TryGetValue(id, out var turn))
            {
                log.Warning("turn {TurnId} of session {SessionId}: {Why}", id, turn.Key, why);
                Finish(id, turn, Lost(turn, why));
            }
        }
    }

    /// <summary>The end of a turn whose session was lost: retryable, with what its events made so far, on the transport it started on.</summary>
    private static TurnEnd Lost(Relayed turn, string why)
    {
        var end = TurnEnd.Failed(why, retryable: true, result: turn.Events > 0 ? turn.Result.ToResult() with { Status = TurnStatus.Interrupted } : null);
        return turn.Started is { } started ? end with { Transport = started.Transport, Chained = started.Chained } : end;
    }

    private void Finish(string turnId, Relayed turn, TurnEnd end)
    {
        turns.Remove(turnId);
        Timers.Cancel(turnId);
        turn.Out.TryWrite(new TurnFinished(end));
        turn.Out.TryComplete();
        if (turn.Session is { } session && bySession.TryGetValue(session, out var ids))
        {
            ids.Remove(turnId);
            if (ids.Count == 0)
            {
                bySession.Remove(session);
                Context.Unwatch(session);
            }
        }
    }

    private sealed class Relayed(SessionKey key, ChannelWriter<TurnEvent> output)
    {
        public SessionKey Key { get; } = key;

        public ChannelWriter<TurnEvent> Out { get; } = output;

        public TurnAccumulator Result { get; } = new();

        public int Events { get; set; }

        public IActorRef? Session { get; set; }

        public RelayedStarted? Started { get; set; }
    }
}
