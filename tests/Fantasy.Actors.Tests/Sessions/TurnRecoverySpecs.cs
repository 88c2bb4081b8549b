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
        Assert.True(TurnRecovery.HoldsBack(turn, Error(UpstreamError.ConnectionLimitReached), out var limit));
        for (var replay = 0; replay < TurnRecovery.MaxHandoffs; replay++)
        {
            Assert.Equal(Recovery.Replay, TurnRecovery.AfterHeldError(pending, limit));
            pending.Replays++;
        }

        Assert.True(TurnRecovery.HoldsBack(turn, Error(UpstreamError.ConnectionLimitReached), out _));
        Assert.Equal(Recovery.OverHttp, TurnRecovery.AfterHeldError(pending, limit));

        var lost = Pending();
        var lostTurn = Running(lost);
        Assert.True(TurnRecovery.HoldsBack(lostTurn, Error(UpstreamError.PreviousResponseNotFound), out var notFound));
        Assert.Equal(Recovery.Replay, TurnRecovery.AfterHeldError(lost, notFound));
        lost.Replays++;
        Assert.False(TurnRecovery.HoldsBack(lostTurn, Error(UpstreamError.PreviousResponseNotFound), out _)); // the second one is reported
    }

    [Fact]
    public void Nothing_is_held_back_after_the_first_event_nor_a_lost_cache_of_a_conversation_the_session_does_not_know()
    {
        var streamed = Running();
        streamed.Delivered = 1;
        Assert.False(TurnRecovery.HoldsBack(streamed, Error(UpstreamError.ConnectionLimitReached), out _));

        var unknown = Running(knowsConversation: false);
        Assert.False(TurnRecovery.HoldsBack(unknown, Error(UpstreamError.PreviousResponseNotFound), out _));
        Assert.True(TurnRecovery.HoldsBack(unknown, Error(UpstreamError.ConnectionLimitReached), out _));
        Assert.False(TurnRecovery.HoldsBack(Running(), Error("rate_limit_exceeded"), out _));
    }
}
