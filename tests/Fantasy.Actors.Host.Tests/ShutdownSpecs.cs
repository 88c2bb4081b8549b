using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Host.Tests;

/// <summary>A gateway of its own, to stop it and to give it limits.</summary>
public sealed class ShutdownSpecs
{
    private static HttpRequestMessage Post(Gateway gateway, string json, string sessionId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/responses")) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-limits");
        request.Headers.Add("X-Session-Id", sessionId);
        return request;
    }

    private static Task<Gateway> StartAsync(ResponsesSimulator sim, params string[] extra) =>
        TestGateways.StartAsync(sim, [
            "--Fantasy:Tenants:limits:Keys:0=sk-limits",
            .. extra,
        ]);

    [Fact]
    public async Task Shutdown_refuses_new_turns_and_lets_running_ones_finish()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        var gateway = await StartAsync(sim, "--Fantasy:Gateway:DrainTimeout=00:00:20");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        sim.Faults.Stall(TimeSpan.FromSeconds(3));
        using var running = await http.SendAsync(Post(gateway, """{"model":"m","input":"long","stream":true}""", "running"), HttpCompletionOption.ResponseHeadersRead);
        var body = running.Content.ReadAsStringAsync();

        var stopping = gateway.App.StopAsync();
        // The drain runs first, in the host's stopping phase: the gate is closed before anything stops.
        Assert.True(gateway.App.Services.GetRequiredService<TurnGate>().Stopping);

        // A new turn is not taken: the server still answers during the drain, with 503.
        using var attempt = await http.SendAsync(Post(gateway, """{"model":"m","input":"new"}""", "late"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, attempt.StatusCode);
        var error = JsonDocument.Parse(await attempt.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("shutting_down", error.GetProperty("error").GetProperty("code").GetString());

        // The running turn finishes.
        Assert.Contains("event: response.completed", await body.WaitAsync(TimeSpan.FromSeconds(30)), StringComparison.Ordinal);
        await stopping.WaitAsync(TimeSpan.FromSeconds(60));
        await gateway.DisposeAsync();
    }

    [Fact]
    public async Task A_turn_still_running_when_the_drain_times_out_is_aborted_and_the_server_stops_without_waiting_for_it()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        var gateway = await StartAsync(sim, "--Fantasy:Gateway:DrainTimeout=00:00:01");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        sim.Faults.Stall(TimeSpan.FromSeconds(90)); // far longer than the drain and the host's shutdown timeout (drain + 15 s)
        using var running = await http.SendAsync(Post(gateway, """{"model":"m","input":"long","stream":true}""", "stuck"), HttpCompletionOption.ResponseHeadersRead);
        var body = running.Content.ReadAsStringAsync();

        var clock = Stopwatch.StartNew();
        await gateway.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var stopped = clock.Elapsed;

        // The stuck turn's request was aborted when the drain gave up (it never completed), and the server stopped
        // then, not after its own shutdown timeout of 16 s waiting for that request.
        await Assert.ThrowsAnyAsync<Exception>(() => body.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(stopped < TimeSpan.FromSeconds(10), $"stopping took {stopped}");
        Assert.Equal(0, gateway.App.Services.GetRequiredService<TurnGate>().Running);
        await gateway.DisposeAsync();
    }

    [Fact]
    public async Task Readiness_reports_what_was_checked_and_fails_while_the_upstream_refuses()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now
        await using var gateway = await Gateway.StartAsync([
            "--urls", "http://127.0.0.1:0",
            $"--Fantasy:Upstream:BaseUrl=http://127.0.0.1:{port}/v1",
            "--Fantasy:Upstream:ApiKey=sk-upstream",
        ]);
        using var http = new HttpClient();

        using var live = await http.GetAsync(new Uri(gateway.BaseAddress, "/healthz"));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode); // liveness does not depend on the upstream
        using var ready = await http.GetAsync(new Uri(gateway.BaseAddress, "/readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("not_ready", body.GetProperty("status").GetString());
        var upstream = body.GetProperty("upstream");
        Assert.Equal("tcp_connect", upstream.GetProperty("check").GetString());
        Assert.False(upstream.GetProperty("reachable").GetBoolean());
        Assert.Equal("ConnectionRefused", upstream.GetProperty("check_failure").GetString());
        Assert.Equal(JsonValueKind.Null, upstream.GetProperty("last_turn_completed_at").ValueKind);
    }

    [Fact]
    public async Task With_a_metrics_key_metrics_need_it_even_on_loopback()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        await using var gateway = await StartAsync(sim, "--Fantasy:Gateway:MetricsKey=sk-metrics");
        using var http = new HttpClient();
        using var anonymous = await http.GetAsync(new Uri(gateway.BaseAddress, "/metrics"));
        Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
        Assert.Equal("metrics_forbidden", JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.BaseAddress, "/metrics"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-metrics");
        using var scraped = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        var text = PrometheusText.Parse(await scraped.Content.ReadAsStringAsync());
        Assert.Equal("gauge", text.Types["fantasy_sessions_open"]);
        Assert.Single(text.Find("fantasy_sessions_open"));
    }

    [Fact]
    public async Task A_full_http_fallback_is_503_fallback_busy_not_a_busy_session()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        sim.Faults.RefuseUpgrades(new HttpFault(426), count: 100); // no WebSocket mode: every turn goes over HTTP
        // A turn with no time left to wait for room (queue-wait-timeout) is refused at once.
        await using var gateway = await StartAsync(sim, "--Fantasy:Hocon=fantasy.http.max-in-flight = 1\nfantasy.http.max-waiting = 0\nfantasy.session.queue-wait-timeout = 50ms");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        // One turn holds the only HTTP slot (its stream stalls after its first event).
        sim.Faults.Stall(TimeSpan.FromSeconds(5), transport: FaultTransport.Http);
        using var holding = await http.SendAsync(Post(gateway, """{"model":"m","input":"hold","stream":true}""", "holder"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("http", holding.Headers.GetValues("x-fantasy-transport").Single());

        using var second = await http.SendAsync(Post(gateway, """{"model":"m","input":"next"}""", "other"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        var error = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("fallback_busy", error.GetProperty("code").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.NotNull(second.Headers.RetryAfter);
    }

    [Fact]
    public async Task A_turn_the_full_http_fallback_has_no_room_for_waits_and_completes()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        sim.Faults.RefuseUpgrades(new HttpFault(426), count: 100);
        await using var gateway = await StartAsync(sim, "--Fantasy:Hocon=fantasy.http.max-in-flight = 1\nfantasy.http.max-waiting = 0");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        sim.Faults.Stall(TimeSpan.FromSeconds(2), transport: FaultTransport.Http);
        using var holding = await http.SendAsync(Post(gateway, """{"model":"m","input":"hold","stream":true}""", "holder"), HttpCompletionOption.ResponseHeadersRead);

        // The only slot is taken: the second turn waits for it (within session.queue-wait-timeout) instead of a 503.
        using var second = await http.SendAsync(Post(gateway, """{"model":"m","input":"next"}""", "other"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("http", second.Headers.GetValues("x-fantasy-transport").Single());
        Assert.Contains("ok: 1", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, sim.Counters.HttpPosts);
    }

    [Fact]
    public async Task A_tenant_at_its_session_limit_gets_429()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        await using var gateway = await StartAsync(sim, "--Fantasy:Tenants:limits:MaxSessions=1");
        using var http = new HttpClient();

        using var first = await http.SendAsync(Post(gateway, """{"model":"m","input":"one"}""", "s1"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var again = await http.SendAsync(Post(gateway, """{"model":"m","input":"two"}""", "s1"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        using var second = await http.SendAsync(Post(gateway, """{"model":"m","input":"three"}""", "s2"));
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        var error = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("too_many_sessions", error.GetProperty("code").GetString());
    }
}
