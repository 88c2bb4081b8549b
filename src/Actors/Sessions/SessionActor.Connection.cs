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
    /// <summary>Connections in a row that may close before taking a turn (or answer the connection limit) before the turn goes over HTTP.</summary>
    private const int MaxHandoffs = 3;

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
        running = new RunningTurn(pending, epoch, plan, fullInput);
        chain.WentOut(plan);
        Timers.StartSingleTimer(LivenessKey, new TurnLiveness(pending.Id), settings.OrphanedTurnTimeout);
        if (log.IsDebugEnabled)
        {
            log.Debug("session {SessionId}: turn {TurnId} on connection {ConnectionEpoch}: {Plan} with {Items} input items",
                key.SessionId, pending.Id, epoch, plan is ChainPlan.Fresh f ? $"fresh ({f.Reason})" : "chained", plan.Input.Count);
        }

        connection!.Tell(new StartTurn(pending.Id, frame, Self, env.ConsumerWindow, env.ConsumerWindowBytes));
    }

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
        chain.Break();
        Timers.Cancel(RotateKey);
        ArmLivenessIfOrphaned();
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
        FantasyMetrics.Rotations.Add(1);
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
            case Connected:
                connected = true;
                policy.OnConnected();
                connectedAt = Now;
                var jitter = env.Settings.Connection.MaxAgeJitter * ((Random.Shared.NextDouble() * 2) - 1);
                Timers.StartSingleTimer(RotateKey, new Rotate(epoch), env.Settings.Connection.MaxAge + jitter);
                TryStartNext();
                break;
            case ConnectFailed failed:
                OnConnectFailed(failed);
                break;
            case UpstreamEventReceived e:
                OnEvent(e.TurnId, e.Event, Transport.WebSocket);
                break;
            case TurnSent sent when running is { } r && r.Id == sent.TurnId:
                r.Acknowledged = true;
                break;
            case TurnEnded ended when running is { } r && r.Id == ended.TurnId:
                OnTurnEnded(r, ended.Result);
                break;
            case TurnInterrupted interrupted when running is { } r && r.Id == interrupted.TurnId:
                OnInterrupted(r, interrupted.Reason);
                break;
            case TurnCancelled cancelled when running is { } r && r.Id == cancelled.TurnId:
                running = null;
                r.Finish(TurnEnds.Cancelled(r.Delivered));
                AfterTurn();
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

        r.Acknowledged = true;
        if (r.Delivered == 0 && e is ErrorEvent { Error: { IsReplaySafe: true } error }
            && (MayReplay(r.Pending, error) || error.Code == UpstreamError.ConnectionLimitReached)
            && (error.Code != UpstreamError.PreviousResponseNotFound || r.FullInput is not null))
        {
            // previous_response_not_found / websocket_connection_limit_reached before any event: held back, and the
            // turn is resent (or, past the replays, sent over HTTP). A lost cache is covered only when the session
            // knows the whole conversation; a caller's unknown id is reported as it is.
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

    private void OnTurnEnded(RunningTurn r, TurnResult result)
    {
        running = null;
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
        if (r.Pending.Finished)
        {
            chain.Break();
        }
        else
        {
            chain.Ended(r.Epoch, r.Pending.Submit.Request, r.FullInput, result);
        }

        r.Finish(TurnEnds.FromResult(result));
        AfterTurn();
    }

    /// <summary>
    /// The turn stopped without its terminal. Nothing reached the caller yet: resent once, full input, on a fresh
    /// connection — also when its request had gone out (the caller sees one answer; the upstream may have started
    /// the abandoned attempt). After its first event: never resent, it fails retryably.
    /// </summary>
    private void OnInterrupted(RunningTurn r, string reason)
    {
        running = null;
        if (r.CancelRequested)
        {
            r.Finish(TurnEnds.Cancelled(r.Delivered));
        }
        else if (r.Delivered == 0 && !r.Pending.Replayed)
        {
            Replay(r, reason);
            return;
        }
        else
        {
            r.Finish(TurnEnds.Interrupted(r.Delivered, reason));
        }

        AfterTurn();
    }

    /// <summary>
    /// The current connection is gone (its last report) while a turn it was given is still running here: the turn
    /// never waits on a connection that no longer exists.
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

        OnInterrupted(r, reason);
    }

    /// <summary>
    /// A turn that no connection took goes back to the head of the queue unchanged (nothing was sent, so it is
    /// no replay). A turn that connection after connection does not take goes over HTTP instead of circling for ever.
    /// </summary>
    private void Requeue(RunningTurn r, string why)
    {
        running = null;
        if (++r.Pending.Handoffs > MaxHandoffs)
        {
            SendOverHttp(r.Pending, $"{r.Pending.Handoffs} WebSocket connections in a row closed before taking it (last: {why})");
            return;
        }

        log.Info("session {SessionId}: turn {TurnId} goes to a new connection: {Why}", key.SessionId, r.Id, why);
        queue.PutBack(r.Pending);
    }

    /// <summary>Nothing of the turn reached its caller and WebSocket mode keeps failing it: this turn goes over HTTP.</summary>
    private void SendOverHttp(PendingTurn pending, string why)
    {
        log.Warning("session {SessionId}: turn {TurnId} goes over HTTP: {Why}", key.SessionId, pending.Id, why);
        StartHttp(pending);
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

        running = null;
        var state = connection is null ? "no connection" : r.Epoch != epoch ? $"connection {r.Epoch} was replaced" : $"connection {epoch} never took it";
        log.Warning("session {SessionId}: turn {TurnId} had no live connection for {Timeout} ({State}); failing it", key.SessionId, r.Id, settings.OrphanedTurnTimeout, state);
        if (connection is not null && r.Epoch == epoch)
        {
            // A connection that holds a turn it never acknowledged is not trusted with the next one.
            DropConnection(close: false);
        }

        r.Finish(TurnEnds.Orphaned(settings.OrphanedTurnTimeout, state));
        AfterTurn();
    }

    /// <summary>
    /// A replay-safe error before the first event is resent once; the connection limit (a fresh connection is
    /// exactly the remedy, and under load a new socket can age out before its first request) up to
    /// <see cref="MaxHandoffs"/> times, so a caller does not see a transport condition it cannot act on.
    /// </summary>
    private static bool MayReplay(PendingTurn pending, UpstreamError error) =>
        pending.Replays == 0 || (error.Code == UpstreamError.ConnectionLimitReached && pending.Replays < MaxHandoffs);

    /// <summary>Nothing reached the caller yet: the same turn once more, full input, on a fresh connection.</summary>
    private void Replay(RunningTurn r, string why)
    {
        replays++;
        FantasyMetrics.Replays.Add(1);
        r.Pending.Replays++;
        log.Info("session {SessionId}: turn {TurnId} replayed with full input on a new connection: {Why}", key.SessionId, r.Id, why);
        queue.PutBack(r.Pending);
        DropConnection(close: false);
        Connect();
    }
}
