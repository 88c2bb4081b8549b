using System.Threading.Channels;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>The session's recovery rules as plain functions.</summary>
public sealed class TurnRecoverySpecs
{
    private static PendingTurn Pending() =>
        new(new SessionProtocol.SubmitTurn(new SessionKey("t", "c"), "t1", Request(User("x")), TurnOptions.Default, new ChannelTurnOutput(Channel.CreateUnbounded<TurnEvent>().Writer)));

    private static RunningTurn Running(PendingTurn? pending = null, bool knowsConversation = true) =>
        new(pending ?? Pending(), 1, new ChainPlan.Fresh([User("x")], FreshReason.NoChain), knowsConversation ? [User("x")] : null);

    private static ErrorEvent Error(string code) =>
        new(UpstreamError.FromErrorEvent(System.Text.Encoding.UTF8.GetBytes(
            """{"type":"error","status":400,"error":{"type":"invalid_request_error","code":"CODE","message":"m"}}""".Replace("CODE", code, StringComparison.Ordinal))));

    [Fact]
    public void Nothing_delivered_is_resent_once_and_anything_delivered_never()
    {
        var fresh = Running();
        Assert.Equal(Recovery.Replay, TurnRecovery.AfterInterruption(fresh));

        fresh.Pending.Replays = 1;
        Assert.Equal(Recovery.Fail, TurnRecovery.AfterInterruption(fresh));

        var streamed = Running();
        streamed.Delivered = 1;
        Assert.Equal(Recovery.Fail, TurnRecovery.AfterInterruption(streamed));

        var cancelled = Running();
        cancelled.CancelRequested = true;
        Assert.Equal(Recovery.Cancelled, TurnRecovery.AfterInterruption(cancelled));
    }

    [Fact]
    public void A_connection_that_never_took_the_turn_gives_it_back_and_one_that_did_interrupts_it()
    {
        var notTaken = Running();
        Assert.Equal(Recovery.Requeue, TurnRecovery.AfterConnectionGone(notTaken));

        var taken = Running();
        taken.Acknowledged = true;
        Assert.Equal(Recovery.Replay, TurnRecovery.AfterConnectionGone(taken));
    }

    [Fact]
    public void A_turn_no_connection_takes_goes_over_http_after_three_connections()
    {
        var pending = Pending();
        Assert.Equal(Recovery.Requeue, TurnRecovery.AfterNotTaken(pending));
        Assert.Equal(Recovery.Requeue, TurnRecovery.AfterNotTaken(pending));
        Assert.Equal(Recovery.Requeue, TurnRecovery.AfterNotTaken(pending));
        Assert.Equal(Recovery.OverHttp, TurnRecovery.AfterNotTaken(pending));
    }

    [Fact]
    public void The_connection_limit_is_held_back_and_resent_three_times_then_http_a_lost_cache_once()
    {
        var pending = Pending();
        var turn = Running(pending);
        Assert.True(TurnRecovery.HoldsBack(turn, Error(UpstreamError.ConnectionLimitReached), budgetShared: false, out var limit));
        for (var replay = 0; replay < TurnRecovery.MaxHandoffs; replay++)
        {
            Assert.Equal(Recovery.Replay, TurnRecovery.AfterHeldError(pending, limit, budgetShared: false));
            pending.Replays++;
        }

        Assert.True(TurnRecovery.HoldsBack(turn, Error(UpstreamError.ConnectionLimitReached), budgetShared: false, out _));
        Assert.Equal(Recovery.OverHttp, TurnRecovery.AfterHeldError(pending, limit, budgetShared: false));

        var lost = Pending();
        var lostTurn = Running(lost);
        Assert.True(TurnRecovery.HoldsBack(lostTurn, Error(UpstreamError.PreviousResponseNotFound), budgetShared: false, out var notFound));
        Assert.Equal(Recovery.Replay, TurnRecovery.AfterHeldError(lost, notFound, budgetShared: false));
        lost.Replays++;
        Assert.False(TurnRecovery.HoldsBack(lostTurn, Error(UpstreamError.PreviousResponseNotFound), budgetShared: false, out _)); // the second one is reported
    }

    [Fact]
    public void Nothing_is_held_back_after_the_first_event_nor_a_lost_cache_of_a_conversation_the_session_does_not_know()
    {
        var streamed = Running();
        streamed.Delivered = 1;
        Assert.False(TurnRecovery.HoldsBack(streamed, Error(UpstreamError.ConnectionLimitReached), budgetShared: false, out _));

        var unknown = Running(knowsConversation: false);
        Assert.False(TurnRecovery.HoldsBack(unknown, Error(UpstreamError.PreviousResponseNotFound), budgetShared: false, out _));
        Assert.True(TurnRecovery.HoldsBack(unknown, Error(UpstreamError.ConnectionLimitReached), budgetShared: false, out _));
        Assert.False(TurnRecovery.HoldsBack(Running(), Error("rate_limit_exceeded"), budgetShared: false, out _));
    }

    [Fact]
    public void With_a_shared_budget_a_rate_limited_turn_waits_for_it_unless_something_reached_its_caller_or_it_is_cancelled()
    {
        var limited = new ErrorEvent(UpstreamError.FromErrorEvent("""{"type":"error","status":429,"error":{"type":"requests","code":"rate_limit_exceeded","message":"Rate limit reached. Please try again in 1s."}}"""u8.ToArray()));
        Assert.True(limited.Error.IsRateLimited);
        Assert.True(TurnRecovery.HoldsBack(Running(), limited, budgetShared: true, out var held));
        Assert.Equal(Recovery.WaitForBudget, TurnRecovery.AfterHeldError(Running().Pending, held, budgetShared: true));

        var streamed = Running();
        streamed.Delivered = 1;
        Assert.False(TurnRecovery.HoldsBack(streamed, limited, budgetShared: true, out _));
        var cancelled = Running();
        cancelled.CancelRequested = true;
        Assert.False(TurnRecovery.WaitsForBudget(cancelled, limited.Error, budgetShared: true));

        // insufficient_quota is fatal: never held, whatever the budget.
        var quota = new ErrorEvent(UpstreamError.FromErrorEvent("""{"type":"error","status":429,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"quota"}}"""u8.ToArray()));
        Assert.False(TurnRecovery.HoldsBack(Running(), quota, budgetShared: true, out _));
    }

    [Fact]
    public void A_refused_turn_waits_what_is_left_of_its_queue_wait_since_the_first_refusal_and_fails_when_the_upstream_asks_for_longer()
    {
        var first = DateTimeOffset.UnixEpoch;
        var timeout = TimeSpan.FromMinutes(2);
        Assert.Equal(TimeSpan.FromSeconds(90), TurnRecovery.BudgetWaitLeft(first, first.AddSeconds(30), timeout, TimeSpan.FromSeconds(5), isInternal: false));
        Assert.Null(TurnRecovery.BudgetWaitLeft(first, first.AddSeconds(30), timeout, TimeSpan.FromSeconds(90), isInternal: false));
        Assert.Null(TurnRecovery.BudgetWaitLeft(first, first.AddMinutes(2), timeout, TimeSpan.Zero, isInternal: false));
        Assert.Null(TurnRecovery.BudgetWaitLeft(first, first, timeout, TimeSpan.Zero, isInternal: true));
    }
}
