using Akka.Configuration;
using Akka.TestKit;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Limits;
using Fantasy.Actors.Protocol;
using Xunit.Abstractions;
using static Fantasy.Actors.Limits.UpstreamBudgetProtocol;

namespace Fantasy.Actors.Tests.Limits;

/// <summary>A credential's budget actor with probes for sessions, on virtual time.</summary>
public sealed class UpstreamBudgetActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    ConfigurationFactory.ParseString("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """), "budget-specs", output)
{
    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    private static readonly RateLimitSettings Weighted = RateLimitSettings.Default with
    {
        Weights = new Dictionary<string, double>(StringComparer.Ordinal) { ["c"] = 2 },
    };

    private static UpstreamError TooMany(int retryAfterMs, long limit) => new(
        ErrorOrigin.WebSocketFrame, 429, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 2.5s.",
        headers: new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["retry-after-ms"] = retryAfterMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["x-ratelimit-limit-requests"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["x-ratelimit-remaining-requests"] = "0",
        });

    [Fact]
    public void A_429_on_one_session_holds_the_turns_of_the_others_until_the_reset()
    {
        var budget = Sys.ActorOf(UpstreamBudgetActor.Props("budget-hold", RateLimitSettings.Default));
        var first = CreateTestProbe();
        var other = CreateTestProbe();

        // Nothing known: a turn goes at once.
        budget.Tell(new AskToSend("t1", "a", 10), first);
        first.ExpectMsg<MaySend>(m => m.TurnId == "t1");

        // The upstream refuses the first session's next turn: it waits 2.5 s, and so does every other session's.
        budget.Tell(new UpstreamRefused(TooMany(2500, 6000), "websocket"), first);
        budget.Tell(new AskToSend("o1", "b", 10), other);
        budget.Tell(new AskToSend("t2", "a", 10, Resent: true), first);
        budget.Tell(GetBudget.Instance, TestActor);
        var status = ExpectMsg<BudgetStatus>();
        Assert.Equal(6000, status.RequestLimit);
        Assert.Equal(1, status.Waiting["a"]);
        Assert.Equal(1, status.Waiting["b"]);

        Clock.Advance(TimeSpan.FromMilliseconds(2499));
        budget.Tell(GetBudget.Instance, TestActor);
        Assert.Equal(2, ExpectMsg<BudgetStatus>().Waiting.Values.Sum());
        other.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        first.ExpectNoMsg(TimeSpan.FromMilliseconds(10));

        Clock.Advance(TimeSpan.FromMilliseconds(1));
        other.ExpectMsg<MaySend>(m => m.TurnId == "o1");
        first.ExpectMsg<MaySend>(m => m.TurnId == "t2");
    }

    [Fact]
    public void A_withdrawn_turn_leaves_the_line_and_one_never_sent_gives_its_place_back()
    {
        var budget = Sys.ActorOf(UpstreamBudgetActor.Props("budget-withdraw", RateLimitSettings.Default));
        var session = CreateTestProbe();
        budget.Tell(new UpstreamSaid(new RateLimitSnapshot(new RateLimitBucket(60, 1, null), default)), session);
        budget.Tell(new AskToSend("t1", "a", 1), session);
        session.ExpectMsg<MaySend>(m => m.TurnId == "t1");
        budget.Tell(new AskToSend("t2", "a", 1), session);
        budget.Tell(new AskToSend("t3", "a", 1), session);
        budget.Tell(new Withdraw("t2"), session);

        // t1 was never sent: its request goes back, and the next in line (t3, not the withdrawn t2) goes.
        budget.Tell(new Unused("t1", 1), session);
        session.ExpectMsg<MaySend>(m => m.TurnId == "t3");
        session.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void With_the_upstream_as_the_bottleneck_three_tenants_weighing_1_1_2_are_let_through_1_1_2()
    {
        var budget = Sys.ActorOf(UpstreamBudgetActor.Props("budget-fair", Weighted));
        var sessions = new Dictionary<string, TestProbe> { ["a"] = CreateTestProbe(), ["b"] = CreateTestProbe(), ["c"] = CreateTestProbe() };

        // 600 requests a minute, none left: one turn every 100 ms.
        budget.Tell(new UpstreamSaid(new RateLimitSnapshot(new RateLimitBucket(600, 0, null), default)), TestActor);
        foreach (var (tenant, probe) in sessions)
        {
            for (var i = 0; i < 200; i++)
            {
                budget.Tell(new AskToSend($"{tenant}-{i}", tenant, 1), probe);
            }
        }

        budget.Tell(GetBudget.Instance, TestActor);
        Assert.Equal(600, ExpectMsg<BudgetStatus>().Waiting.Values.Sum());

        var admitted = new Dictionary<string, int>();
        for (var step = 0; step < 200; step++)
        {
            Clock.Advance(TimeSpan.FromMilliseconds(100));
            budget.Tell(GetBudget.Instance, TestActor);
            ExpectMsg<BudgetStatus>();
        }

        foreach (var (tenant, probe) in sessions)
        {
            var order = new List<int>();
            while (probe.HasMessages)
            {
                var id = probe.ExpectMsg<MaySend>().TurnId;
                order.Add(int.Parse(id[(tenant.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            }

            admitted[tenant] = order.Count;
            Assert.Equal(Enumerable.Range(0, order.Count), order); // FIFO within a tenant
        }

        var total = admitted.Values.Sum();
        Assert.InRange(total, 195, 201);
        Assert.InRange(admitted["a"] / (double)total, 0.25 * 0.9, 0.25 * 1.1);
        Assert.InRange(admitted["b"] / (double)total, 0.25 * 0.9, 0.25 * 1.1);
        Assert.InRange(admitted["c"] / (double)total, 0.50 * 0.9, 0.50 * 1.1);
    }
}
