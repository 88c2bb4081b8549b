using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Fallback;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Connections.ConnectionProtocol;
using static Fantasy.Actors.Fallback.HttpFallbackProtocol;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>The session's queue side: accepting a turn, its queue timeout, sending the head turn out on a connection or over HTTP, and waiting for room in a full HTTP fallback.</summary>
internal sealed partial class SessionActor
{
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

        if (!JournalAdmits(turn))
        {
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
            ReleasePermit(expired);
            log.Warning("session {SessionId}: turn {TurnId} waited {Wait} in the queue; rejected", key.SessionId, turnId, settings.QueueWaitTimeout);
            expired.Finish(TurnEnds.QueueTimeout(settings.QueueWaitTimeout));
        }
    }

    /// <summary>The head turn goes out when it can: over HTTP when the policy says so, else on an open connection.</summary>
    private void TryStartNext()
    {
        if (running is not null || queue.Count == 0 || dispatchHeld || JournalBusy || forgetting is not null)
        {
            return;
        }

        // The head asks its credential's budget just before it would go: over HTTP at once, over WebSocket once the
        // connection is open (the upgrade's answer has told the budget where it stands by then).
        if (connection is null && policy.Choose(Now) == Transport.Http && !(probeWebSocket && !policy.Sticky))
        {
            if (Permitted(queue.Head!))
            {
                StartHttp(TakeHead());
            }

            return;
        }

        if (connection is null)
        {
            Connect();
        }
        else if (connected && Permitted(queue.Head!))
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
        env.Http.Tell(new RunHttpTurn(pending.Id, body, Self, env.ConsumerWindow, env.ConsumerWindowBytes, FoldDeltas: !submit.Options.PassThrough, BudgetShared: env.Budget is not null));
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
    private bool IsFresh => turns == 0 && running is null && queue.Count == 0 && connection is null && writing is null;

    /// <summary>Asks the owner (the local manager, or the cluster shard) to stop this session behind what it already has.</summary>
    private void PassivateSelf()
    {
        Go(Passivating);
        env.Passivation.Passivate(Context, key);
    }
}
