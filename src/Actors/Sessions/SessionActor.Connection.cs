using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Connections.ConnectionProtocol;
using static Fantasy.Actors.Fallback.HttpFallbackProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>The session's connection side: opening and replacing its connection, the connection's reports, replays and liveness.</summary>
internal sealed partial class SessionActor
{
    private IActorRef? connection;
    private long epoch;
    private bool connected;
    private DateTimeOffset connectedAt;

    /// <summary>The check, <c>session.orphaned-turn-timeout</c> after a WebSocket turn was handed out or lost its connection, that it has a live one.</summary>
    private sealed record TurnLiveness(string TurnId);

    /// <summary>The head turn goes out on the open connection, as the chain plans it.</summary>
    private void Start(PendingTurn pending)
    {
        var submit = pending.Submit;
        var (plan, fullInput) = chain.Plan(submit, epoch, forceFresh: pending.Replayed);
        var frame = submit.Request.ToWebSocketFrame(
            plan is ChainPlan.Continue c ? c.PreviousResponseId : null,
            plan.Input,
            generate: !submit.Options.GenerateWarmup);
        running = new RunningTurn(pending, epoch, plan, fullInput) { BytesSent = frame.Length };
        chain.WentOut(plan);
        Timers.StartSingleTimer(LivenessKey, new TurnLiveness(pending.Id), settings.OrphanedTurnTimeout);
        if (log.IsDebugEnabled)
        {
            log.Debug("session {SessionId}: turn {TurnId} on connection {ConnectionEpoch}: {Plan} with {Items} input items",
                key.SessionId, pending.Id, epoch, plan is ChainPlan.Fresh f ? $"fresh ({f.Reason})" : "chained", plan.Input.Count);
        }

        connection!.Tell(new StartTurn(pending.Id, frame, Self, env.ConsumerWindow, env.ConsumerWindowBytes, FoldDeltas: !submit.Options.PassThrough));
    }

    private void Connect()
    {
        probeWebSocket = false;
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
        chain.Break();
        deadlines.ClearRotate();
        ArmLivenessIfOrphaned();
    }

    /// <summary>
    /// The connection took the turn (its frame went out, or an event came): from here the connection's watchdog bounds
    /// it, so the liveness check is disarmed — a turn does not leave a timer message behind it — until the
    /// connection is lost.
    /// </summary>
    private void TookTurn(RunningTurn r)
    {
        if (!r.Acknowledged)
        {
            r.Acknowledged = true;
            Timers.Cancel(LivenessKey);
        }
    }

    /// <summary>A running WebSocket turn that just lost its connection is checked again after the bound.</summary>
    private void ArmLivenessIfOrphaned()
    {
        if (running is { Transport: Transport.WebSocket } r)
        {
            Timers.StartSingleTimer(LivenessKey, new TurnLiveness(r.Id), settings.OrphanedTurnTimeout);
        }
    }

    private void RotateNow(string why)
    {
        rotations++;
        FantasyMetrics.Rotated();
        rotateAfterTurn = false;
        log.Info("session {SessionId}: rotating connection {ConnectionEpoch} ({Why})", key.SessionId, epoch, why);
        DropConnection(close: true);
        Connect();
        if (settings.WarmOnRotate && PrimingTurn() is { } warm)
        {
            // Prime the new connection with the whole chain, so the next turn is a delta again.
            queue.PutBack(warm);
        }
    }

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

        if (report is TurnCancelled or TurnInterrupted)
        {
            // The connection discards its socket; a turn sent to it now would be lost, so it gets none. A cancel that
            // came while it was still connecting leaves it open, so it is stopped here as well.
            DropConnection(close: false);
        }

        switch (report)
        {
            case Connected opened:
                Heard(opened.Headers);
                connected = true;
                policy.OnConnected();
                connectedAt = Now;
                deadlines.RotateAfter(connectedAt, env.Settings.Connection.MaxAge, env.Settings.Connection.MaxAgeJitter, epoch);
                ArmDeadlines();
                TryStartNext();
                break;
            case ConnectFailed failed:
                OnConnectFailed(failed);
                break;
            case UpstreamEventReceived e:
                OnEvent(e.TurnId, e.Event, Transport.WebSocket);
                break;
            case TurnSent sent when running is { } r && r.Id == sent.TurnId:
                TookTurn(r);
                break;
            case TurnEnded ended when running is { } r && r.Id == ended.TurnId:
                OnTurnEnded(r, ended.Result);
                break;
            case TurnInterrupted interrupted when running is { } r && r.Id == interrupted.TurnId:
                OnInterrupted(r, interrupted.Reason);
                break;
            case TurnCancelled cancelled when running is { } r && r.Id == cancelled.TurnId:
                EndRunning(r, TurnEnds.Cancelled(r.Delivered));
                break;
            case TurnRefused refused when running is { } r && r.Id == refused.TurnId:
                // The connection did not take the turn (it is closing, or still busy with a send): it gets no
                // further turn, and this one goes back to the head of the queue for a new connection.
                log.Info("session {SessionId}: connection {ConnectionEpoch} refused turn {TurnId} ({Reason}); it goes to a new connection", key.SessionId, epoch, refused.TurnId, refused.Reason);
                DropConnection(close: true);
                Requeue(r, refused.Reason);
                TryStartNext();
                break;
            case IdleError idle:
                // An error while idle closes the connection (a socket that misbehaved is never reused).
                log.Info("session {SessionId}: connection {ConnectionEpoch} reported {Code} while idle; it will be replaced on the next turn", key.SessionId, epoch, idle.Error.Code);
                ForgetClosingConnection();
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
        if (running is not null || queue.Count == 0)
        {
            return;
        }

        var head = TakeHead();
        if (toHttp)
        {
            // The user never waits through a reconnect loop: this turn goes over HTTP now.
            StartHttp(head);
        }
        else
        {
            head.Finish(TurnEnds.ConnectRefused(failed.Error));
        }
    }

    /// <summary>One event of the running turn, from its connection or from the HTTP fallback.</summary>
    private void OnEvent(string turnId, ServerEvent e, Transport from)
    {
        if (running is not { } r || r.Id != turnId || r.Transport != from)
        {
            Acknowledge(turnId, from);
            return;
        }

        TookTurn(r);
        if (TurnRecovery.HoldsBack(r, e, env.Budget is not null, out var error))
        {
            // Held back: the turn is resent (or waits for the budget, or, past the replays, goes over HTTP) when its response ends.
            r.HeldError = error;
            Acknowledge(turnId, from);
            return;
        }

        if (HoldsTerminal(r, e))
        {
            // Durable: the caller gets response.completed once the turn is written (SessionActor.Persistence.cs).
            if (r.Delivered++ == 0)
            {
                r.Pending.Submit.Out.TryWrite(new TurnStarted(r.Transport, r.Chained));
            }

            r.HeldTerminal = e;
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
            var output = r.Pending.Submit.Out;
            // A pass-through caller gets the event as its bytes only: an unread event is then held once.
            output.TryWrite(new TurnUpstreamEvent(r.Pending.Submit.Options.PassThrough ? e.AsReceived() : e));
            if (output.HasBuffered && !flushScheduled)
            {
                // Towards another node: the events already in the mailbox join this one, then all go as one message.
                flushScheduled = true;
                Self.Tell(SessionProtocol.FlushOutput.Instance);
            }
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

    private void OnTurnEnded(RunningTurn r, TurnResult result)
    {
        if (r.HeldError is { } held && r.Delivered == 0)
        {
            Recover(r, TurnRecovery.AfterHeldError(r.Pending, held, env.Budget is not null), $"{held.Code}: {held.Message}");
            return;
        }

        turns++;
        var before = chain.Transcript;
        if (r.Pending.Finished)
        {
            chain.Break();
        }
        else
        {
            chain.Ended(r.Epoch, r.Pending.Submit.Request, r.FullInput, result);
        }

        Complete(r, TurnEnds.FromResult(result), before);
    }

    private void OnInterrupted(RunningTurn r, string reason) => Recover(r, TurnRecovery.AfterInterruption(r), reason);

    /// <summary>
    /// The current connection is gone (its last report) while a turn it was given is still running here: the turn
    /// never waits on a connection that no longer exists.
    /// </summary>
    private void ConnectionGone(string reason)
    {
        if (running is { Transport: Transport.WebSocket } r && r.Epoch == epoch)
        {
            Recover(r, TurnRecovery.AfterConnectionGone(r), $"connection {r.Epoch} is gone: {reason}");
        }
    }

    /// <summary>A turn the connection did not take goes back to the queue, or over HTTP after too many such connections.</summary>
    private void Requeue(RunningTurn r, string why) => Recover(r, TurnRecovery.AfterNotTaken(r.Pending), why);

    /// <summary>Carries out what <see cref="TurnRecovery"/> decided for a turn its connection could not finish.</summary>
    private void Recover(RunningTurn r, Recovery recovery, string why)
    {
        running = null;
        switch (recovery)
        {
            case Recovery.Replay:
                // A resend is a new request upstream: it asks the budget again.
                r.Pending.Permit = BudgetPermit.None;
                Replay(r, why);
                return;
            case Recovery.Requeue:
                log.Info("session {SessionId}: turn {TurnId} goes to a new connection: {Why}", key.SessionId, r.Id, why);
                queue.PutBack(r.Pending);
                return;
            case Recovery.OverHttp:
                log.Warning("session {SessionId}: turn {TurnId} goes over HTTP after {Replays} replays and {Handoffs} connections that did not take it: {Why}", key.SessionId, r.Id, r.Pending.Replays, r.Pending.Handoffs, why);
                DropConnection(close: false);
                StartHttp(r.Pending);
                return;
            case Recovery.Cancelled:
                EndRunning(r, TurnEnds.Cancelled(r.Delivered));
                return;
            case Recovery.WaitForBudget:
                WaitForBudget(r, r.HeldError!);
                return;
            default:
                EndRunning(r, TurnEnds.Interrupted(r.Delivered, why));
                return;
        }
    }

    /// <summary>
    /// Armed when a WebSocket turn is handed to a connection and again whenever the running turn's connection is
    /// forgotten or replaced; when it fires, a turn that still has no live connection that took it ends.
    /// A live connection that took the turn bounds it itself (<c>connection.turn-watchdog</c>).
    /// </summary>
    private void CheckLiveness(string turnId)
    {
        if (running is not { Transport: Transport.WebSocket } r || r.Id != turnId
            || (connection is not null && connected && r.Epoch == epoch && r.Acknowledged))
        {
            return;
        }

        var state = connection is null ? "no connection" : r.Epoch != epoch ? $"connection {r.Epoch} was replaced" : $"connection {epoch} never took it";
        log.Warning("session {SessionId}: turn {TurnId} had no live connection for {Timeout} ({State}); failing it", key.SessionId, r.Id, settings.OrphanedTurnTimeout, state);
        if (connection is not null && r.Epoch == epoch)
        {
            // A connection that holds a turn it never acknowledged is not trusted with the next one.
            DropConnection(close: false);
        }

        EndRunning(r, TurnEnds.Orphaned(settings.OrphanedTurnTimeout, state));
    }

    /// <summary>Nothing reached the caller yet: the same turn once more, full input, on a fresh connection.</summary>
    private void Replay(RunningTurn r, string why)
    {
        replays++;
        FantasyMetrics.Replayed();
        r.Pending.Replays++;
        log.Info("session {SessionId}: turn {TurnId} replayed with full input on a new connection: {Why}", key.SessionId, r.Id, why);
        queue.PutBack(r.Pending);
        DropConnection(close: false);
        Connect();
    }
}
