using Microsoft.Extensions.Time.Testing;

namespace Fantasy.Actors.Host.Tests;

/// <summary>A tenant's limits on a clock moved by hand: wait within MaxWait, refuse beyond it, say where it stands.</summary>
public sealed class TenantLimiterSpecs
{
    private static string Header(TenantLimiter limiter, string name) => limiter.Headers().Single(h => h.Key == name).Value;

    [Fact]
    public async Task Over_its_requests_per_minute_a_turn_waits_its_turn_within_max_wait_and_is_refused_beyond_it()
    {
        var time = new FakeTimeProvider();
        using var limiter = new TenantLimiter("acme", new TenantLimits(60, null, null, TimeSpan.FromSeconds(2), 10), time);

        // 60 a minute: 60 at once, then one a second.
        for (var i = 0; i < 60; i++)
        {
            using var p = await limiter.AcquireAsync(1, CancellationToken.None);
            Assert.True(p.Granted);
        }

        Assert.Equal("60", Header(limiter, "x-ratelimit-limit-requests"));
        Assert.Equal("0", Header(limiter, "x-ratelimit-remaining-requests"));
        Assert.Equal("1m0s", Header(limiter, "x-ratelimit-reset-requests"));

        // The next two wait 1 s and 2 s, in arrival order; the one after would wait 3 s > MaxWait: refused now.
        var first = limiter.AcquireAsync(1, CancellationToken.None);
        var second = limiter.AcquireAsync(1, CancellationToken.None);
        using var refused = await limiter.AcquireAsync(1, CancellationToken.None);
        Assert.False(refused.Granted);
        Assert.Equal("requests", refused.Limit);
        Assert.InRange(refused.RetryAfter.TotalMilliseconds, 998, 1002);
        Assert.Contains(refused.RefusalHeaders, h => h.Key == "x-ratelimit-limit-requests" && h.Value == "60");
        Assert.Equal(1, limiter.Refused);

        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        using (var p1 = await first)
        {
            Assert.True(p1.Granted);
            Assert.Equal(TimeSpan.FromSeconds(1), p1.Waited);
        }

        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        using (var p2 = await second)
        {
            Assert.True(p2.Granted);
        }
    }

    [Fact]
    public async Task A_turn_whose_caller_leaves_while_it_waits_gives_its_place_back()
    {
        var time = new FakeTimeProvider();
        using var limiter = new TenantLimiter("acme", new TenantLimits(60, null, null, TimeSpan.FromSeconds(10), 10), time);
        for (var i = 0; i < 60; i++)
        {
            (await limiter.AcquireAsync(1, CancellationToken.None)).Dispose();
        }

        using var gone = new CancellationTokenSource();
        var leaving = limiter.AcquireAsync(1, gone.Token);
        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);

        // Its second is free again: the next turn waits 1 s, not 2.
        var next = limiter.AcquireAsync(1, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        using var p = await next;
        Assert.True(p.Granted);
        Assert.Equal(TimeSpan.FromSeconds(1), p.Waited);
    }

    [Fact]
    public async Task Tokens_are_charged_from_the_estimate_before_the_turn_and_corrected_from_its_usage_after()
    {
        var time = new FakeTimeProvider();
        using var limiter = new TenantLimiter("acme", new TenantLimits(null, 6_000, null, TimeSpan.Zero, 10), time);
        using (var p = await limiter.AcquireAsync(4_000, CancellationToken.None))
        {
            Assert.True(p.Granted);
            Assert.Equal("2000", Header(limiter, "x-ratelimit-remaining-tokens"));
            p.Used(1_000); // the turn used fewer than estimated: 3,000 come back
        }

        Assert.Equal("5000", Header(limiter, "x-ratelimit-remaining-tokens"));
        using var over = await limiter.AcquireAsync(5_500, CancellationToken.None);
        Assert.False(over.Granted);
        Assert.Equal("tokens", over.Limit);
        Assert.InRange(over.RetryAfter.TotalMilliseconds, 4998, 5002);

        using (var p = await limiter.AcquireAsync(5_000, CancellationToken.None))
        {
            p.Used(7_000); // more than estimated: the 2,000 more are owed
        }

        Assert.Equal("0", Header(limiter, "x-ratelimit-remaining-tokens"));
        time.Advance(TimeSpan.FromSeconds(20)); // 2,000 refilled pay the debt
        Assert.Equal("0", Header(limiter, "x-ratelimit-remaining-tokens"));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("1000", Header(limiter, "x-ratelimit-remaining-tokens"));
    }

    [Fact]
    public async Task Turns_over_its_concurrent_turns_wait_for_a_place_oldest_first_up_to_max_wait()
    {
        var time = new FakeTimeProvider();
        using var limiter = new TenantLimiter("acme", new TenantLimits(null, null, 1, TimeSpan.FromSeconds(5), 1), time);
        var running = await limiter.AcquireAsync(1, CancellationToken.None);
        Assert.True(running.Granted);

        var waiting = limiter.AcquireAsync(1, CancellationToken.None);
        using (var queueFull = await limiter.AcquireAsync(1, CancellationToken.None))
        {
            Assert.False(queueFull.Granted);
            Assert.Equal("concurrent", queueFull.Limit);
        }

        Assert.False(waiting.IsCompleted);
        running.Dispose();
        using (var next = await waiting)
        {
            Assert.True(next.Granted);

            // Nobody leaves now: a waiting turn gives up after MaxWait.
            var late = limiter.AcquireAsync(1, CancellationToken.None);
            time.Advance(TimeSpan.FromSeconds(5));
            using var timedOut = await late;
            Assert.False(timedOut.Granted);
        }
    }

    [Fact]
    public async Task Among_three_gateway_nodes_each_keeps_a_third_and_says_the_tenants_whole_limit()
    {
        var time = new FakeTimeProvider();
        using var limiter = new TenantLimiter("acme", new TenantLimits(60, null, null, TimeSpan.Zero, 10), time);
        limiter.SetNodes(3);
        var granted = 0;
        for (var i = 0; i < 60; i++)
        {
            using var p = await limiter.AcquireAsync(1, CancellationToken.None);
            granted += p.Granted ? 1 : 0;
        }

        Assert.Equal(20, granted);
        Assert.Equal("60", Header(limiter, "x-ratelimit-limit-requests"));
        Assert.Equal("0", Header(limiter, "x-ratelimit-remaining-requests"));
        time.Advance(TimeSpan.FromSeconds(3)); // this node refills 20 a minute: one every 3 s
        using var after = await limiter.AcquireAsync(1, CancellationToken.None);
        Assert.True(after.Granted);
    }
}
