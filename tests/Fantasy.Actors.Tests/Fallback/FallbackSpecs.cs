using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Fallback;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;
using Fantasy.Actors.Tests.Sessions;
using Xunit.Abstractions;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Fallback;

public sealed class FallbackSpecs(ITestOutputHelper output) : SessionsTestKit("fallback-specs", output)
{
    private static readonly SessionKey Key = new("tenant-f", "conv-1");

    /// <summary>Runs a turn whose retries wait on virtual time: the clock moves until the turn ends.</summary>
    private async Task<(List<ServerEvent> Events, TurnEnd End)> RunAdvancingAsync(SessionKey key, ResponseRequest request, TimeSpan step)
    {
        var turn = Turns.CollectAsync(Sessions.RunTurnAsync(key, request));
        await AwaitConditionAsync(() =>
        {
            if (!turn.IsCompleted)
            {
                Clock.Advance(step);
            }

            return Task.FromResult(turn.IsCompleted);
        }, Patience, TimeSpan.FromMilliseconds(20));
        return await turn;
    }

    [Fact]
    public async Task The_same_request_over_websocket_and_over_http_gives_equal_results()
    {
        var request = Request(User("look this up: CALL lookup 3"));
        var overWs = await Turns.CollectAsync(Sessions.RunTurnAsync(Key, request));
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        var overHttp = await Turns.CollectAsync(Sessions.RunTurnAsync(new SessionKey("tenant-f", "other"), request));

        Assert.Equal(Transport.WebSocket, overWs.End.Transport);
        Assert.Equal(Transport.Http, overHttp.End.Transport);
        Assert.Equal(TurnOutcome.Completed, overHttp.End.Outcome);
        var (ws, http) = (overWs.End.Result, overHttp.End.Result);
        Assert.Equal(ws.Text, http.Text);
        Assert.Equal(ws.FunctionCalls.Select(c => (c.Name, c.Arguments)), http.FunctionCalls.Select(c => (c.Name, c.Arguments)));
        Assert.Equal(ws.Usage, http.Usage);
        Assert.Equal(ws.FinishReason, http.FinishReason);
        Assert.Equal(overWs.Events.Select(e => e.Type), overHttp.Events.Select(e => e.Type));
        Assert.Equal(1, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task An_upgrade_answered_426_moves_the_conversation_to_http_for_good()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        var first = await Sessions.RunTurnToEndAsync(Key, Request(User("one")));
        Assert.Equal(TurnOutcome.Completed, first.Outcome);
        Assert.Equal(Transport.Http, first.Transport);

        Clock.Advance(TimeSpan.FromHours(2));
        var second = await Sessions.RunTurnToEndAsync(Key, Request(User("one"), J("""{"type":"message","role":"assistant","content":"ok: 1"}"""), User("two")));
        Assert.Equal(Transport.Http, second.Transport);
        Assert.Equal("ok: 3", second.Result.Text);
        Assert.Equal(1, Sim.Counters.UpgradesRefused);
        Assert.Equal(2, Sim.Counters.HttpPosts);

        var status = await Sessions.GetStatusAsync(Key);
        Assert.Equal(Transport.Http, status!.Transport);
        Assert.Contains("426", status.TransportReason, StringComparison.Ordinal);
        Assert.Equal(2, status.Fallbacks);
    }

    [Fact]
    public async Task A_refused_upgrade_sends_the_turn_over_http_and_websocket_returns_after_the_cooldown()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(500));
        var first = await Sessions.RunTurnToEndAsync(Key, Request(User("one"))).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, first.Outcome);
        Assert.Equal(Transport.Http, first.Transport);

        // Inside the cooldown the conversation stays on HTTP without trying the socket.
        var second = await Sessions.RunTurnToEndAsync(Key, Request(User("two"))).WaitAsync(Patience);
        Assert.Equal(Transport.Http, second.Transport);
        Assert.Equal(1, Sim.Counters.UpgradesRefused);
        Assert.Equal(0, Sim.Counters.ConnectionsOpened);

        Clock.Advance(TimeSpan.FromMinutes(5));
        var third = await Sessions.RunTurnToEndAsync(Key, Request(User("three"))).WaitAsync(Patience);
        Assert.Equal(Transport.WebSocket, third.Transport);
        Assert.Equal(1, Sim.Counters.ConnectionsOpened);
        var status = await Sessions.GetStatusAsync(Key);
        Assert.Equal(Transport.WebSocket, status!.Transport);
    }

    [Fact]
    public async Task A_closed_port_sends_the_turn_over_http_at_once()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        Sessions = Start(name: "closed-port", webSocketUrl: new Uri($"ws://127.0.0.1:{port}/v1/responses"));

        var end = await Sessions.RunTurnToEndAsync(Key, Request(User("hello"))).WaitAsync(Patience);

        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal(Transport.Http, end.Transport);
        Assert.Equal("ok: 1", end.Result.Text);
        Assert.Contains("connect failed", (await Sessions.GetStatusAsync(Key))!.TransportReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_upgrade_for_bad_credentials_is_not_retried_over_http()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(401));
        var (events, end) = await Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("hello"))));

        Assert.Empty(events);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.False(end.Retryable);
        Assert.Equal(401, end.Error!.Status);
        Assert.Equal(0, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task Http_429_with_retry_after_ms_is_retried_then_succeeds()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.FailHttpPosts(new HttpFault(429, RetryAfterMs: TimeSpan.FromMilliseconds(700)));

        var (_, end) = await RunAdvancingAsync(Key, Request(User("hello")), TimeSpan.FromMilliseconds(700));

        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal(2, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task Http_500_three_times_fails_retryable_after_the_configured_retries()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.FailHttpPosts(new HttpFault(500), 3);

        var (events, end) = await RunAdvancingAsync(Key, Request(User("hello")), TimeSpan.FromSeconds(1));

        Assert.Empty(events);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Equal(500, end.Error!.Status);
        Assert.Equal(3, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task Http_x_should_retry_false_is_not_retried()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.FailHttpPosts(new HttpFault(500, ShouldRetry: false), 3);

        var (_, end) = await Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("hello"))));

        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.False(end.Retryable);
        Assert.Equal(1, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task A_stream_that_drops_after_the_first_event_fails_retryable_and_is_not_replayed()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.CloseAfterEvents(1, transport: FaultTransport.Http);

        var (events, end) = await Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("hello"))));

        Assert.Single(events);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Equal(1, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task A_failed_response_mid_stream_ends_the_turn_with_its_error()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.FailResponses("server_error", transport: FaultTransport.Http);

        var (events, end) = await Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("hello"))));

        Assert.IsType<ResponseFailed>(events[^1]);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.Equal("server_error", end.Error!.Code);
        Assert.True(end.Retryable);
        Assert.Equal(1, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task Http_turns_carry_the_request_id_and_rate_limit_headers()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        var end = await Sessions.RunTurnToEndAsync(Key, Request(User("hello")));
        Assert.True(end.Metadata.ContainsKey("x-request-id"), string.Join(", ", end.Metadata.Keys));
    }

    [Fact]
    public async Task Two_hundred_concurrent_fallback_turns_respect_the_in_flight_cap()
    {
        Sessions = Start("fantasy.http.max-in-flight = 8\nfantasy.http.max-waiting = 500\nfantasy.http.wait-timeout = 10m", "capped");
        Sim.Faults.RefuseUpgrades(new HttpFault(426), 200);
        Sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(2);

        var ends = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Turns.CollectAsync(Sessions.RunTurnAsync(new SessionKey("many", $"c{i}"), Request(User($"hello {i}"))))));

        Assert.All(ends, e => Assert.Equal(TurnOutcome.Completed, e.End.Outcome));
        Assert.All(ends, e => Assert.Equal(Transport.Http, e.End.Transport));
        var stats = await Sys.ActorSelection("/user/capped-http").Ask<HttpFallbackProtocol.HttpStats>(new HttpFallbackProtocol.GetHttpStats(), Patience);
        Assert.Equal(200, stats.Started);
        Assert.Equal(8, stats.MaxInFlightSeen);
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(200, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task A_turn_the_full_fallback_has_no_room_for_waits_and_completes_once_there_is_room()
    {
        Sessions = Start("fantasy.http.max-in-flight = 1\nfantasy.http.max-waiting = 1", "tiny");
        Sim.Faults.RefuseUpgrades(new HttpFault(426), 3);
        Sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(100); // each turn takes about 1 s: all three overlap

        var turns = Enumerable.Range(0, 3).Select(i =>
            Turns.CollectAsync(Sessions.RunTurnAsync(new SessionKey("tiny", $"c{i}"), Request(User($"hello {i}"))))).ToList();
        var stats = Sys.ActorSelection("/user/tiny-http");
        await AwaitAssertAsync(async () => Assert.Equal(1, (await stats.Ask<HttpFallbackProtocol.HttpStats>(new HttpFallbackProtocol.GetHttpStats(), Patience)).Rejected), Patience);

        // The refused turn waits on its session's timer (virtual time here), then goes again.
        await AwaitConditionAsync(() =>
        {
            Clock.Advance(TimeSpan.FromMilliseconds(100));
            return Task.FromResult(turns.TrueForAll(t => t.IsCompleted));
        }, Patience, TimeSpan.FromMilliseconds(20));

        var ends = await Task.WhenAll(turns);
        Assert.All(ends, e => Assert.Equal(TurnOutcome.Completed, e.End.Outcome));
        Assert.Equal(["ok: 1", "ok: 1", "ok: 1"], ends.Select(e => e.End.Result.Text));
        Assert.Equal(3, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task A_full_fallback_rejects_with_a_clear_reason_a_turn_with_no_time_left_to_wait()
    {
        Sessions = Start("fantasy.http.max-in-flight = 1\nfantasy.http.max-waiting = 1\nfantasy.session.queue-wait-timeout = 50ms", "tiny");
        Sim.Faults.RefuseUpgrades(new HttpFault(426), 3);
        Sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(200); // each turn takes about 2 s: all three overlap

        var ends = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            Turns.CollectAsync(Sessions.RunTurnAsync(new SessionKey("tiny", $"c{i}"), Request(User($"hello {i}"))))));

        var rejected = Assert.Single(ends, e => e.End.Outcome == TurnOutcome.Rejected);
        Assert.Equal(Rejection.FallbackBusy, rejected.End.Rejection);
        Assert.StartsWith("the HTTP fallback", rejected.End.Reason, StringComparison.Ordinal);
        Assert.Null(rejected.End.Error); // a local rejection is not an upstream error
        Assert.Equal(2, ends.Count(e => e.End.Outcome == TurnOutcome.Completed));
    }

    [Fact]
    public async Task A_turn_waiting_too_long_for_an_http_slot_is_rejected_with_timeout()
    {
        Sessions = Start("fantasy.http.max-in-flight = 1\nfantasy.http.wait-timeout = 30s", "waiting");
        Sim.Faults.RefuseUpgrades(new HttpFault(426), 2);
        Sim.Faults.Stall(TimeSpan.FromSeconds(3), transport: FaultTransport.Http);

        await using var slow = Sessions.RunTurnAsync(new SessionKey("w", "slow"), Request(User("slow"))).GetAsyncEnumerator();
        Assert.True(await slow.MoveNextAsync()); // the first turn holds the only slot
        var waiting = Turns.CollectAsync(Sessions.RunTurnAsync(new SessionKey("w", "waiting"), Request(User("waiting"))));
        var stats = Sys.ActorSelection("/user/waiting-http");
        await AwaitAssertAsync(async () => Assert.Equal(1, (await stats.Ask<HttpFallbackProtocol.HttpStats>(new HttpFallbackProtocol.GetHttpStats(), Patience)).Waiting), Patience);

        Clock.Advance(TimeSpan.FromSeconds(30));
        var (_, end) = await waiting.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Rejected, end.Outcome);
        Assert.Equal(Rejection.FallbackTimeout, end.Rejection);
        Assert.Contains("fantasy.http.wait-timeout", end.Reason, StringComparison.Ordinal);
        Assert.True(end.Retryable);
    }

    [Fact]
    public async Task A_server_asking_to_wait_longer_than_max_retry_delay_is_not_waited_for()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.FailHttpPosts(new HttpFault(429, RetryAfter: TimeSpan.FromMinutes(5)));

        var (_, end) = await Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("hello"))));

        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Equal(429, end.Error!.Status);
        Assert.Equal(1, Sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task Closing_a_session_cancels_its_running_http_turn()
    {
        Sessions = Start(name: "closing");
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.Stall(TimeSpan.FromSeconds(60), transport: FaultTransport.Http);
        var turn = Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("long"))));
        var stats = Sys.ActorSelection("/user/closing-http");
        await AwaitAssertAsync(async () => Assert.Equal(1, (await stats.Ask<HttpFallbackProtocol.HttpStats>(new HttpFallbackProtocol.GetHttpStats(), Patience)).InFlight), Patience);

        Assert.True(await Sessions.CloseAsync(Key));

        var (_, end) = await turn.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Equal(Transport.Http, end.Transport);
        await AwaitAssertAsync(async () => Assert.Equal(0, (await stats.Ask<HttpFallbackProtocol.HttpStats>(new HttpFallbackProtocol.GetHttpStats(), Patience)).InFlight), Patience);
    }

    [Fact]
    public async Task An_sse_error_event_mid_stream_ends_the_turn_with_its_error()
    {
        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        Sim.Faults.SendSseError(afterEvents: 3, "server_error", "The server had an error while processing your request.");

        var (events, end) = await Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("hello"))));

        Assert.Equal(4, events.Count);
        Assert.IsType<ErrorEvent>(events[^1]);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.Equal("server_error", end.Error!.Code);
        Assert.True(end.Retryable);
        Assert.Equal(1, Sim.Counters.HttpPosts);
    }
}
