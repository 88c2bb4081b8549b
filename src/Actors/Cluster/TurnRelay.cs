using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
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
    private readonly TimeSpan resendInterval;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly RelayedTurns turns = new();

    public TurnRelay(TimeSpan acceptTimeout, TimeSpan resendInterval)
    {
        this.acceptTimeout = acceptTimeout;
        this.resendInterval = resendInterval;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="acceptTimeout">How long a turn waits for a session to accept it (<c>fantasy.cluster.accept-timeout</c>).</param>
    /// <param name="resendInterval">How often an unaccepted turn is sent again (<c>fantasy.cluster.resend-interval</c>).</param>
    public static Props Props(TimeSpan acceptTimeout, TimeSpan resendInterval) => Akka.Actor.Props.Create(() => new TurnRelay(acceptTimeout, resendInterval));

    /// <summary>
    /// From the API on this node: where the turn's events go, and the turn to send to <paramref name="Region"/>. The
    /// relay sends it, and sends it again every <c>fantasy.cluster.resend-interval</c> until a session accepts it — a turn sent
    /// to a node that has just died is lost with it, and the region routes the next copy to the session's new home
    /// (a session takes a turn id once, so a late first copy is not run twice).
    /// </summary>
    public sealed record Register(string TurnId, SessionKey Key, ChannelWriter<TurnEvent> Out, SessionProtocol.SubmitTurn Submit, IActorRef Region) : INoSerializationVerificationNeeded;

    private sealed record AcceptTimedOut(string TurnId);

    private sealed record Resend(string TurnId);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Register register:
                turns.Add(register.TurnId, new RelayedTurn(register.Key, register.Out, register.Submit.Options.PassThrough) { Submit = register.Submit, Region = register.Region });
                register.Region.Tell(register.Submit);
                Timers.StartPeriodicTimer(ResendKey(register.TurnId), new Resend(register.TurnId), resendInterval);
                Timers.StartSingleTimer(AcceptKey(register.TurnId), new AcceptTimedOut(register.TurnId), acceptTimeout);
                break;
            case Resend resend when turns.TryGet(resend.TurnId, out var turn) && turn.Submit is { } submit:
                turn.Region!.Tell(submit);
                break;
            case SessionProtocol.CancelSessionTurn cancel when turns.TryGet(cancel.TurnId, out var turn):
                // Through the relay, so that it reaches the session behind the turn the relay sent.
                turn.Region!.Tell(cancel);
                break;
            case TurnAccepted accepted when turns.Accept(accepted.TurnId, Sender, out var watch):
                CancelTimers(accepted.TurnId);
                if (watch)
                {
                    Context.Watch(Sender);
                }

                break;
            case RelayedStarted started when turns.TryGet(started.TurnId, out var turn):
                turn.Started = started;
                turn.Out.TryWrite(new TurnStarted(started.Transport, started.Chained));
                break;
            case RelayedEvent relayed when turns.TryGet(relayed.TurnId, out var turn):
                OnEvent(relayed.Parsed, relayed.Json, turn);
                break;
            case RelayedEvents relayed when turns.TryGet(relayed.TurnId, out var turn):
                foreach (var json in relayed.Events)
                {
                    OnEvent(null, json, turn);
                }

                break;
            case RelayedFinished finished when turns.TryGet(finished.TurnId, out var turn):
                var result = turn.Events > 0
                    ? turn.Result.ToResult() with { Status = finished.End.Result.Status }
                    : finished.End.Result;
                Finish(finished.TurnId, turn, finished.End with { Result = result });
                break;
            case AcceptTimedOut timedOut when turns.TryGet(timedOut.TurnId, out var turn) && turn.Session is null:
                log.Warning("turn {TurnId} of session {SessionId}: no node took it within {Timeout} (fantasy.cluster.accept-timeout)", timedOut.TurnId, turn.Key, acceptTimeout);
                Finish(timedOut.TurnId, turn, Lost(turn, $"no node took the turn within {acceptTimeout} (fantasy.cluster.accept-timeout)"));
                break;
            case Terminated terminated:
                OnSessionGone(terminated);
                break;
            case TurnAccepted or RelayedStarted or RelayedEvent or RelayedEvents or RelayedFinished or AcceptTimedOut or Resend or SessionProtocol.CancelSessionTurn:
                // The turn has already ended here (its session or node was lost first).
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private static void OnEvent(ServerEvent? parsed, byte[] json, RelayedTurn turn)
    {
        ServerEvent e;
        try
        {
            // A pass-through caller (the gateway) gets text-carrying events as their bytes only, here as on the session's node.
            e = parsed is not null
                ? (turn.PassThrough ? parsed.AsReceived() : parsed)
                : EventParser.Parse(json, keepRaw: true, textAsReceived: turn.PassThrough);
        }
        catch (ProtocolException)
        {
            // The owning node parsed these bytes already; should they not parse here, they are passed on, not lost.
            e = new UnknownEvent("invalid", json);
        }

        turn.Events++;
        turn.Result.Apply(e);
        turn.Out.TryWrite(new TurnUpstreamEvent(e));
    }

    private void OnSessionGone(Terminated terminated)
    {
        var why = terminated.AddressTerminated
            ? $"the node that owned the session ({terminated.ActorRef.Path.Address}) was lost before the turn ended"
            : "the session stopped before the turn ended";
        foreach (var (id, turn) in turns.SessionGone(terminated.ActorRef))
        {
            log.Warning("turn {TurnId} of session {SessionId}: {Why}", id, turn.Key, why);
            Finish(id, turn, Lost(turn, why));
        }
    }

    /// <summary>
    /// The relay failed (its turns' state goes with this instance): every turn it holds ends now, retryably, and its
    /// session is told to cancel it — rather than its caller waiting for events nobody will write.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        EndAll($"the turn relay failed: {reason.Message}");
        base.PreRestart(reason, message);
    }

    protected override void PostStop() => EndAll("the turn relay stopped");

    private void EndAll(string why)
    {
        foreach (var (id, turn) in turns.All())
        {
            log.Warning("turn {TurnId} of session {SessionId}: {Why}", id, turn.Key, why);
            turn.Region?.Tell(new SessionProtocol.CancelSessionTurn(turn.Key, id));
            Finish(id, turn, Lost(turn, why));
        }
    }

    private static string ResendKey(string turnId) => "resend-" + turnId;

    private static string AcceptKey(string turnId) => "accept-" + turnId;

    private void CancelTimers(string turnId)
    {
        Timers.Cancel(ResendKey(turnId));
        Timers.Cancel(AcceptKey(turnId));
    }

    /// <summary>The end of a turn whose session was lost: retryable, with what its events made so far, on the transport it started on.</summary>
    private static TurnEnd Lost(RelayedTurn turn, string why)
    {
        var end = TurnEnd.Failed(why, retryable: true, result: turn.Events > 0 ? turn.Result.ToResult() with { Status = TurnStatus.Interrupted } : null);
        return turn.Started is { } started ? end with { Transport = started.Transport, Chained = started.Chained } : end;
    }

    private void Finish(string turnId, RelayedTurn turn, TurnEnd end)
    {
        if (turns.Remove(turnId) is { } unwatch)
        {
            Context.Unwatch(unwatch);
        }

        CancelTimers(turnId);
        turn.Out.TryWrite(new TurnFinished(end));
        turn.Out.TryComplete();
    }
}
