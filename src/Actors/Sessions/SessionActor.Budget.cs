using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Limits.UpstreamBudgetProtocol;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// The session's side of its upstream credential's budget (<c>fantasy.rate-limits</c>): the head turn asks before it
/// goes upstream and goes when let through; a turn that leaves the queue while asking withdraws; what the upstream
/// says of the budget is passed on; a turn refused with 429 before its first event waits for the budget and is resent.
/// </summary>
internal sealed partial class SessionActor
{
    /// <summary>Whether the head turn may go upstream now; if it has not asked yet, it asks (the answer calls <see cref="TryStartNext"/>).</summary>
    private bool Permitted(PendingTurn head)
    {
        if (env.Budget is not { } budget)
        {
            return true;
        }

        switch (head.Permit)
        {
            case BudgetPermit.Granted:
                return true;
            case BudgetPermit.Asked:
                return false;
            default:
                if (head.Tokens == 0)
                {
                    head.Tokens = EstimateTokens(head.Submit);
                }

                head.Permit = BudgetPermit.Asked;
                budget.Tell(new AskToSend(head.Id, key.Tenant, head.Tokens, Resent: head.RateLimitedSince is not null));
                return false;
        }
    }

    /// <summary>The tokens of the last completed turn (its usage: the context the next turn continues); 0 when unknown.</summary>
    private long lastContextTokens;

    /// <summary>
    /// The turn's tokens before it runs, as the upstream counts them (the whole context, also when only new items go
    /// out): the last completed turn's usage for what continues it, plus the new items' JSON bytes over
    /// <c>rate-limits.bytes-per-token</c> — so the estimate costs what is new, not the conversation's length. A turn
    /// that does not continue the conversation is estimated from all its input.
    /// </summary>
    private long EstimateTokens(SubmitTurn submit)
    {
        var request = submit.Request;
        var input = request.Input;
        var from = 0;
        long context = 0;
        if (chain.Transcript is { } last && lastContextTokens > 0)
        {
            var known = last.FullInput.Count + last.Output.Count;
            if (submit.Options.ContinueSession || submit.Options.PreviousResponseId is not null || request.PreviousResponseId is not null)
            {
                context = lastContextTokens;
            }
            else if (input.Count >= known)
            {
                // A caller resending its history: the first items are the last turn's context.
                context = lastContextTokens;
                from = known;
            }
        }

        long bytes = (request.Instructions?.Length ?? 0) + 64;
        for (var i = from; i < input.Count; i++)
        {
            bytes += JsonMarshal.GetRawUtf8Value(input[i]).Length;
        }

        return Math.Max(1, context + (bytes / env.Settings.RateLimits.BytesPerToken));
    }

    private void OnMaySend(string turnId)
    {
        if (queue.Find(turnId) is { Permit: BudgetPermit.Asked } waiting)
        {
            waiting.Permit = BudgetPermit.Granted;
            TryStartNext();
            return;
        }

        // The turn left the queue while the answer was on its way: what it took goes back.
        Sender.Tell(new Unused(turnId, 0));
    }

    /// <summary>A turn leaves the queue without going upstream: its place in the budget's line, or what it was given, goes back.</summary>
    private void ReleasePermit(PendingTurn turn)
    {
        if (env.Budget is not { } budget)
        {
            return;
        }

        if (turn.Permit == BudgetPermit.Asked)
        {
            budget.Tell(new Withdraw(turn.Id));
        }
        else if (turn.Permit == BudgetPermit.Granted)
        {
            budget.Tell(new Unused(turn.Id, turn.Tokens));
        }

        turn.Permit = BudgetPermit.None;
    }

    /// <summary>What an answer's <c>x-ratelimit-*</c> headers said goes to the budget.</summary>
    private void Heard(IEnumerable<KeyValuePair<string, string>>? headers)
    {
        if (env.Budget is { } budget && headers is not null && RateLimitSnapshot.FromHeaders(headers) is { } said)
        {
            budget.Tell(new UpstreamSaid(said));
        }
    }

    /// <summary>
    /// The upstream refused the running turn with 429 before its first event: every session on the credential holds
    /// (the budget hears of it), and this turn goes back to the head of the queue, asks the budget again (at its
    /// tenant's front) and is resent when let through — unless it has waited <c>session.queue-wait-timeout</c> since the
    /// first refusal, when it fails with the upstream's error.
    /// </summary>
    private void WaitForBudget(RunningTurn r, UpstreamError error)
    {
        var pending = r.Pending;
        var now = Now;
        env.Budget!.Tell(new UpstreamRefused(error, r.Transport.Name()));
        pending.RateLimitedSince ??= now;
        var hold = error.GetRetryAfter(now) ?? TimeSpan.Zero;
        if (TurnRecovery.BudgetWaitLeft(pending.RateLimitedSince.Value, now, settings.QueueWaitTimeout, hold, pending.Internal) is not { } left)
        {
            // No time left to wait (session.queue-wait-timeout since the first refusal), or the upstream asks for longer.
            log.Warning("session {SessionId}: turn {TurnId} refused by the upstream's rate limit; it cannot wait {Hold} within session.queue-wait-timeout ({Timeout}) of its first refusal; failing it: {Error}",
                key.SessionId, r.Id, hold, settings.QueueWaitTimeout, error.Message);
            EndRunning(r, TurnEnd.Failed(error.Message, retryable: true, error: error));
            return;
        }

        running = null;
        pending.Permit = BudgetPermit.None;
        pending.StartBy = now + left;
        queue.PutBack(pending);
        Timers.StartSingleTimer(Sessions.TurnQueue.TimeoutKey(pending.Id), new QueueTimeout(pending.Id), left);
        log.Info("session {SessionId}: turn {TurnId} refused by the upstream's rate limit ({Error}); it waits for the budget, {Left} left", key.SessionId, r.Id, error.Message, left);
        // A WebSocket connection answered the error and stays open; its chain is unchanged (nothing was generated).
        TryStartNext();
    }
}
