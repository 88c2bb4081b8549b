using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Akka.Actor;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Limits;
using Fantasy.Actors.Simulator;
using Fantasy.Actors.Tests.Sessions;
using Xunit.Abstractions;
using static Fantasy.Actors.Limits.UpstreamBudgetProtocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Limits;

/// <summary>
/// Sessions on one credential against a simulator whose organization allows 2 requests a minute; the simulator's
/// clock and the sessions' (virtual) clock are moved together by hand.
/// </summary>
public sealed class SharedBudgetSpecs(ITestOutputHelper output) : SessionsTestKit("shared-budget-specs", output)
{
    private readonly ManualTime simTime = new();

    protected override SimulatorOptions SimulatorOptions => new() { KeepLastRequests = 64, RequestsPerMinute = 2, Time = simTime };

    private sealed class ManualTime : TimeProvider
    {
        private long ticks = TimeSpan.TicksPerDay;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref ticks, by.Ticks);
    }

    private void Advance(TimeSpan by)
    {
        simTime.Advance(by);
        Clock.Advance(by);
    }

    private ResponsesSessions On(string apiKey, string name) =>
        new(Sys, new UpstreamCredentials(apiKey), Settings("fantasy.session.queue-wait-timeout = 10m"), name);

    [Fact]
    public async Task A_429_on_one_session_holds_the_turns_of_the_others_and_the_refused_turn_is_resent_when_the_budget_allows()
    {
        var ours = On("sk-ours", "ours");
        var theirs = On("sk-theirs", "theirs");
        var a = new SessionKey("t", "a");

        // Our credential's first turn: the upgrade said 2 remain, the turn took one; the budget thinks one is left.
        var (_, first) = await Turns.CollectAsync(ours.RunTurnAsync(a, Request(User("one"))));
        Assert.Equal(TurnOutcome.Completed, first.Outcome);

        // Another credential of the same organization spends the last request.
        var (_, spent) = await Turns.CollectAsync(theirs.RunTurnAsync(new SessionKey("t", "x"), Request(User("theirs"))));
        Assert.Equal(TurnOutcome.Completed, spent.Outcome);

        // Our next turn meets the limit: 429 "try again in 30s". It waits instead of failing.
        var refused = Turns.CollectAsync(ours.RunTurnAsync(a, Request(User("two")), new TurnOptions { ContinueSession = true }));
        await AwaitConditionAsync(() => Task.FromResult(Sim.Counters.RateLimitedRequests == 1), Patience);

        // A second conversation on our credential holds its turn too: it never reaches the upstream to be refused.
        var held = Turns.CollectAsync(ours.RunTurnAsync(new SessionKey("t", "b"), Request(User("three"))));
        var budget = UpstreamBudgets.For(Sys, ours.Settings, new UpstreamCredentials("sk-ours"))!;
        async Task<int> WaitingAsync() => (await budget.Ask<BudgetStatus>(GetBudget.Instance, Patience)).Waiting.GetValueOrDefault("t");
        await AwaitConditionAsync(async () => await WaitingAsync() == 2, Patience);
        // The metrics say the same: two turns of tenant t waiting on this budget, none of its requests left.
        static string? Tag(System.Diagnostics.Metrics.Measurement<long> m, string name) =>
            m.Tags.ToArray().FirstOrDefault(t => t.Key == name).Value as string;
        Assert.Contains(BudgetGauges.Waiting(), m => Tag(m, "fantasy.budget") == budget.Path.Name && Tag(m, "fantasy.tenant") == "t" && m.Value == 2);
        Assert.Contains(BudgetGauges.Remaining(), m => Tag(m, "fantasy.budget") == budget.Path.Name && Tag(m, "fantasy.limit") == "requests" && m.Value == 0);

        var waiting = await ours.GetStatusAsync(new SessionKey("t", "b"));
        Assert.True(waiting!.WaitingForBudget);
        Assert.False(waiting.Busy);
        Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(2, await WaitingAsync());
        Assert.Equal(1, Sim.Counters.RateLimitedRequests);
        Assert.False(refused.IsCompleted);
        Assert.False(held.IsCompleted);

        // The reset: the refused turn goes first (it was refused, then resent at its tenant's front), then the other.
        Advance(TimeSpan.FromSeconds(1));
        var (_, resent) = await refused;
        Assert.Equal(TurnOutcome.Completed, resent.Outcome);
        Assert.True(resent.Chained); // the connection stayed open and the chain with it
        Assert.False(held.IsCompleted);
        Advance(TimeSpan.FromSeconds(30));
        var (_, later) = await held;
        Assert.Equal(TurnOutcome.Completed, later.Outcome);
        Assert.Equal(1, Sim.Counters.RateLimitedRequests);
    }

    [Fact]
    public async Task A_fatal_429_insufficient_quota_is_not_resent_and_holds_nobody()
    {
        var ours = On("sk-ours", "quota");
        Sim.Faults.SendError(429, "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.");
        var (_, end) = await Turns.CollectAsync(ours.RunTurnAsync(new SessionKey("t", "q"), Request(User("one"))));
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.False(end.Retryable);
        Assert.Equal("insufficient_quota", end.Error?.Code);

        // Nothing was held: the next turn goes at once (one request of the minute left).
        var (_, next) = await Turns.CollectAsync(ours.RunTurnAsync(new SessionKey("t", "q2"), Request(User("two"))));
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
    }
}
