using Fantasy.Actors.Limits;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Tests.Limits;

/// <summary>One credential's budget as a node estimates it, on times given by hand.</summary>
public sealed class UpstreamBudgetSpecs
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UnixEpoch.AddDays(20_000);

    private static RateLimitSnapshot Said(long? requests = null, long? remainingRequests = null, long? tokens = null, long? remainingTokens = null) =>
        new(new RateLimitBucket(requests, remainingRequests, null), new RateLimitBucket(tokens, remainingTokens, null));

    private static UpstreamError TooMany(string type, string? retryAfterMs, params (string, string)[] headers)
    {
        var all = headers.ToDictionary(h => h.Item1, h => h.Item2, StringComparer.OrdinalIgnoreCase);
        if (retryAfterMs is not null)
        {
            all["retry-after-ms"] = retryAfterMs;
        }

        return new UpstreamError(ErrorOrigin.HttpResponse, 429, type, "rate_limit_exceeded", "Rate limit reached. Please try again in 2s.", headers: all);
    }

    private static void Close(TimeSpan expected, TimeSpan actual) =>
        Assert.InRange(actual.TotalMilliseconds, expected.TotalMilliseconds - 1, expected.TotalMilliseconds + 1);

    [Fact]
    public void Until_a_limit_is_known_nothing_is_held_back()
    {
        var budget = new UpstreamBudget(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(budget.TryTake(1_000, T0));
        }

        Assert.Null(budget.RequestsLeft(T0));
    }

    [Fact]
    public void A_learned_limit_paces_turns_to_it_from_what_remains()
    {
        var budget = new UpstreamBudget(TimeSpan.FromSeconds(1));
        budget.Learn(Said(requests: 60, remainingRequests: 2), T0);
        Assert.True(budget.TryTake(1, T0));
        Assert.True(budget.TryTake(1, T0));
        Assert.False(budget.TryTake(1, T0));
        Close(TimeSpan.FromSeconds(1), budget.WhenPossible(1, T0));
        Assert.False(budget.TryTake(1, T0.AddMilliseconds(990)));
        Assert.True(budget.TryTake(1, T0.AddMilliseconds(1001)));

        // A turn given back is available again at once.
        budget.GiveBack(1, T0.AddMilliseconds(1001));
        Assert.True(budget.TryTake(1, T0.AddMilliseconds(1001)));
    }

    [Fact]
    public void What_the_upstream_says_remains_brings_the_estimate_down_never_up()
    {
        var budget = new UpstreamBudget(TimeSpan.FromSeconds(1));
        budget.Learn(Said(requests: 600, remainingRequests: 600, tokens: 60_000, remainingTokens: 1_000), T0);
        Assert.Equal(1_000, budget.TokensLeft(T0));
        Assert.True(budget.TryTake(900, T0));
        budget.Learn(Said(requests: 600, remainingRequests: 600, tokens: 60_000, remainingTokens: 50_000), T0);
        Assert.Equal(100, budget.TokensLeft(T0));
        Assert.False(budget.TryTake(200, T0));
        Close(TimeSpan.FromMilliseconds(100), budget.WhenPossible(200, T0));

        // A turn larger than the whole bucket goes when the bucket is full rather than never.
        Close(TimeSpan.FromSeconds(59.9), budget.WhenPossible(100_000, T0));
        Assert.False(budget.TryTake(100_000, T0.AddSeconds(59)));
        Assert.True(budget.TryTake(100_000, T0.AddSeconds(60)));
    }

    [Fact]
    public void A_429_holds_every_turn_for_the_wait_it_asked_for_and_empties_the_refused_budget()
    {
        var budget = new UpstreamBudget(TimeSpan.FromSeconds(1));
        var hold = budget.Refused(TooMany("requests", "2500", ("x-ratelimit-limit-requests", "120"), ("x-ratelimit-remaining-requests", "0")), T0);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), hold);
        Assert.Equal(120, budget.RequestLimit);
        Assert.False(budget.TryTake(1, T0.AddSeconds(2)));
        Close(TimeSpan.FromMilliseconds(500), budget.WhenPossible(1, T0.AddSeconds(2)));
        Assert.True(budget.TryTake(1, T0.AddMilliseconds(2500)));

        // Without any wait in the answer: the message's "try again in"; without that either, the default hold.
        var other = new UpstreamBudget(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(2), other.Refused(TooMany("tokens", null), T0));
        var bare = new UpstreamError(ErrorOrigin.WebSocketFrame, 429, "requests", "rate_limit_exceeded", "Rate limit reached.");
        Assert.Equal(TimeSpan.FromSeconds(3), new UpstreamBudget(TimeSpan.FromSeconds(3)).Refused(bare, T0));
    }

    [Fact]
    public void A_node_paces_itself_to_its_share_of_the_limits()
    {
        var budget = new UpstreamBudget(TimeSpan.FromSeconds(1)) { Share = 1.0 / 3 };
        budget.Learn(Said(requests: 180), T0);
        Assert.Equal(60, budget.RequestsLeft(T0)!.Value, 6);
        for (var i = 0; i < 60; i++)
        {
            Assert.True(budget.TryTake(1, T0));
        }

        Assert.False(budget.TryTake(1, T0));
        Close(TimeSpan.FromSeconds(1), budget.WhenPossible(1, T0));
        Assert.Throws<ArgumentOutOfRangeException>(() => budget.Share = 0);
    }

    [Fact]
    public void Insufficient_quota_is_not_a_rate_limit()
    {
        var quota = new UpstreamError(ErrorOrigin.HttpResponse, 429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota.");
        Assert.False(quota.IsRateLimited);
        Assert.Equal(ErrorClass.Fatal, quota.Classification);
        Assert.True(TooMany("requests", "10").IsRateLimited);
    }
}
