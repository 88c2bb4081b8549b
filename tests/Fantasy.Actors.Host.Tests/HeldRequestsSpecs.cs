using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The sessions' last requests a tenant holds, on a clock moved by hand.</summary>
public sealed class HeldRequestsSpecs
{
    private static readonly ResponseRequest Request =
        ResponseRequest.Parse("""{"model":"m","input":[{"role":"user","content":"x"}]}"""u8, previous: null, previousOutput: null);

    [Fact]
    public void When_full_the_least_recently_used_session_makes_room_and_nothing_is_read_against_after_five_idle_minutes()
    {
        var clock = new ManualClock();
        var held = new HeldRequests(clock, capacity: 2);
        void Turn(string conversation)
        {
            held.Keep(conversation, Request, []);
            clock.Now += TimeSpan.FromSeconds(1);
        }

        Turn("a");
        Turn("b");
        Turn("a"); // a is used again: b is now the least recently used
        Turn("c"); // full: b makes room

        Assert.NotNull(held.Get("a"));
        Assert.Null(held.Get("b"));
        Assert.NotNull(held.Get("c"));

        clock.Now += HeldRequests.KeptFor;
        Assert.Null(held.Get("a"));
    }

    [Fact]
    public void A_turn_that_did_not_complete_forgets_the_session()
    {
        var held = new HeldRequests(new ManualClock());
        held.Keep("a", Request, []);
        held.Forget("a");
        Assert.Null(held.Get("a"));
    }
}
