using System.Threading.Channels;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Contract;

namespace Fantasy.Actors.Tests.Cluster;

/// <summary>The relay's bookkeeping on its own: which turns it holds, which session took which, whom to watch.</summary>
public sealed class RelayedTurnsSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static RelayedTurn Turn(string conversation) =>
        new(new SessionKey("t", conversation), Channel.CreateUnbounded<TurnEvent>().Writer);

    [Fact]
    public void A_session_is_watched_once_for_all_its_turns_and_unwatched_with_the_last()
    {
        var turns = new RelayedTurns();
        var session = CreateTestProbe().Ref;
        turns.Add("t1", Turn("a"));
        turns.Add("t2", Turn("a"));

        Assert.True(turns.Accept("t1", session, out var watchFirst));
        Assert.True(watchFirst);
        Assert.True(turns.Accept("t2", session, out var watchSecond));
        Assert.False(watchSecond);
        Assert.Equal(1, turns.WatchedSessions);

        Assert.Null(turns.Remove("t1")); // the session still has t2 here
        Assert.Same(session, turns.Remove("t2"));
        Assert.Equal(0, turns.WatchedSessions);
        Assert.Equal(0, turns.Count);
    }

    [Fact]
    public void A_resent_copys_second_acceptance_and_an_unknown_turn_change_nothing()
    {
        var turns = new RelayedTurns();
        var first = CreateTestProbe().Ref;
        var second = CreateTestProbe().Ref;
        turns.Add("t1", Turn("a"));

        Assert.True(turns.Accept("t1", first, out _));
        Assert.False(turns.Accept("t1", second, out var watch));
        Assert.False(watch);
        Assert.False(turns.Accept("nope", first, out _));
        Assert.True(turns.TryGet("t1", out var turn));
        Assert.Same(first, turn.Session);
        Assert.Null(turn.Submit);
    }

    [Fact]
    public void A_lost_session_gives_back_exactly_its_own_turns()
    {
        var turns = new RelayedTurns();
        var lost = CreateTestProbe().Ref;
        var alive = CreateTestProbe().Ref;
        turns.Add("l1", Turn("a"));
        turns.Add("l2", Turn("a"));
        turns.Add("k1", Turn("b"));
        turns.Add("waiting", Turn("c"));
        turns.Accept("l1", lost, out _);
        turns.Accept("l2", lost, out _);
        turns.Accept("k1", alive, out _);

        var gone = turns.SessionGone(lost);

        Assert.Equal(["l1", "l2"], gone.Select(g => g.Id).Order());
        Assert.Empty(turns.SessionGone(lost)); // once
        Assert.Equal(1, turns.WatchedSessions);

        // Ending the lost session's turns asks for no unwatch (it is no longer watched); the others are untouched.
        Assert.Null(turns.Remove("l1"));
        Assert.Null(turns.Remove("l2"));
        Assert.Equal(["k1", "waiting"], turns.All().Select(t => t.Id).Order());
        Assert.Same(alive, turns.Remove("k1"));
        Assert.Null(turns.Remove("waiting")); // never accepted: nothing to unwatch
        Assert.Equal(0, turns.Count);
    }
}
