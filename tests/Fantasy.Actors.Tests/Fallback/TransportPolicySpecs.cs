using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Fallback;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Tests.Fallback;

public sealed class TransportPolicySpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly FallbackSettings Settings = new(TimeSpan.FromMinutes(5), 2.0, TimeSpan.FromMinutes(60));

    private static UpstreamError Refused(int status) =>
        UpstreamError.FromHttpResponse(status, null, """{"error":{"message":"refused","type":"server_error"}}"""u8, refusedUpgrade: true);

    [Fact]
    public void WebSocket_is_the_default()
    {
        var policy = new TransportPolicy(Settings);
        Assert.Equal(Transport.WebSocket, policy.Choose(T0));
    }

    [Fact]
    public void A_426_is_sticky()
    {
        var policy = new TransportPolicy(Settings);
        Assert.True(policy.OnConnectFailed(Refused(426), T0));
        Assert.True(policy.Sticky);
        Assert.Equal(Transport.Http, policy.Choose(T0 + TimeSpan.FromDays(30)));
        Assert.Contains("426", policy.Describe(T0), StringComparison.Ordinal);
    }

    [Fact]
    public void A_connect_failure_cools_down_with_growing_backoff_up_to_the_cap()
    {
        var policy = new TransportPolicy(Settings);
        var now = T0;
        var expected = new[] { 5, 10, 20, 40, 60, 60 };
        foreach (var minutes in expected)
        {
            Assert.True(policy.OnConnectFailed(Refused(503), now));
            Assert.Equal(TimeSpan.FromMinutes(minutes), policy.CurrentCooldown());
            Assert.Equal(Transport.Http, policy.Choose(now + TimeSpan.FromMinutes(minutes) - TimeSpan.FromSeconds(1)));
            now += TimeSpan.FromMinutes(minutes);
            Assert.Equal(Transport.WebSocket, policy.Choose(now));
            Assert.StartsWith("websocket: probing", policy.Describe(now), StringComparison.Ordinal);
        }

        policy.OnConnected();
        Assert.Equal(0, policy.ConsecutiveFailures);
        Assert.Equal(TimeSpan.FromMinutes(5), policy.CurrentCooldown());
        Assert.Equal(Transport.WebSocket, policy.Choose(now));
    }

    [Fact]
    public void Auth_refusals_are_not_transport_problems()
    {
        var policy = new TransportPolicy(Settings);
        Assert.False(policy.OnConnectFailed(Refused(401), T0));
        Assert.False(policy.OnConnectFailed(Refused(403), T0));
        Assert.Equal(Transport.WebSocket, policy.Choose(T0));
    }

    [Fact]
    public void A_network_failure_goes_to_http()
    {
        var policy = new TransportPolicy(Settings);
        Assert.True(policy.OnConnectFailed(UpstreamError.FromTransport("connection refused"), T0));
        Assert.Equal(Transport.Http, policy.Choose(T0));
    }

    [Fact]
    public void A_turn_the_fallback_had_no_room_for_waits_longer_after_each_refusal_within_bounds()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), TransportPolicy.BusyFallbackWait(1, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(300), TransportPolicy.BusyFallbackWait(1, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(800), TransportPolicy.BusyFallbackWait(3, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(5_000), TransportPolicy.BusyFallbackWait(30, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(7_500), TransportPolicy.BusyFallbackWait(int.MaxValue, 1));
    }
}
