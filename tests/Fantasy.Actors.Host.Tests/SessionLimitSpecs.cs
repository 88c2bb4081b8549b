using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.DependencyInjection;

namespace Fantasy.Actors.Host.Tests;

/// <summary>A tenant at its session limit gets back the places of sessions that stopped on their own.</summary>
public sealed class SessionLimitSpecs
{

    private static async Task<HttpResponseMessage> TurnAsync(HttpClient http, Gateway gateway, string session, string method = "POST")
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(gateway.BaseAddress, method == "POST" ? "/v1/responses" : $"/v1/sessions/{session}"));
        if (method == "POST")
        {
            request.Content = new StringContent("""{"model":"m","input":"hi"}""", Encoding.UTF8, "application/json");
            request.Headers.Add("X-Session-Id", session);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-acme");
        return await http.SendAsync(request);
    }

    /// <summary>Waits until the session service says the session no longer exists (it stopped after its idle timeout).</summary>
    internal static async Task StoppedAsync(Gateway gateway, string session)
    {
        var sessions = gateway.App.Services.GetRequiredService<IResponsesSessions>();
        await UntilAsync(async () => await sessions.GetStatusAsync(new SessionKey("acme", session)) is null, () => $"session {session} still exists", TimeSpan.FromMilliseconds(50));
    }

    /// <summary>Sends a new session's turn until it is admitted (the tenant looks for stopped sessions at most every few seconds).</summary>
    internal static async Task AdmittedEventuallyAsync(HttpClient http, Gateway gateway, string session)
    {
        var refusal = string.Empty;
        await UntilAsync(
            async () =>
            {
                using var response = await TurnAsync(http, gateway, session);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }

                Assert.Equal((HttpStatusCode)429, response.StatusCode);
                refusal = await response.Content.ReadAsStringAsync();
                return false;
            },
            () => $"session {session} still refused: {refusal}",
            TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_session_admitted_a_moment_ago_is_not_taken_for_a_stopped_one()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        var system = Akka.Actor.ActorSystem.Create("limit-specs", Fantasy.Actors.Configuration.FantasySettings.DefaultConfig);
        try
        {
            var sessions = new ResponsesSessions(system, new Fantasy.Actors.Configuration.UpstreamCredentials("sk-test"), Fantasy.Actors.Configuration.FantasySettings.FromConfig(
                Akka.Configuration.ConfigurationFactory.ParseString($"fantasy.upstream.websocket-url = \"{sim.WebSocketUrl}\"\nfantasy.upstream.base-url = \"{sim.BaseUrl}\"")));
            var clock = new ManualClock();
            var tenant = new TenantState(new TenantOptions("t", ["k"], null, null, MaxSessions: 2, MaxQueuedTurns: null), sessions, maxResponseIds: 10) { Time = clock };

            // One live session, and one admitted whose first turn has not created it yet (the window a prune must not misread).
            Assert.True(await tenant.TryAddSessionAsync("live", 2, CancellationToken.None));
            var end = await sessions.RunTurnToEndAsync(new SessionKey("t", "live"), Fantasy.Actors.Protocol.ResponseRequest.Parse("""{"model":"m","input":"hi"}"""u8)).WaitAsync(Patience);
            Assert.Equal(TurnOutcome.Completed, end.Outcome);
            Assert.True(await tenant.TryAddSessionAsync("arriving", 2, CancellationToken.None));

            // At the limit: the first look finds "arriving" missing and keeps it.
            Assert.False(await tenant.TryAddSessionAsync("third", 2, CancellationToken.None));
            Assert.Contains("arriving", tenant.SessionIds);

            // Within the interval nobody looks again; past it, a second look finds it still missing and frees its place.
            clock.Now += TimeSpan.FromSeconds(1);
            Assert.False(await tenant.TryAddSessionAsync("third", 2, CancellationToken.None));
            Assert.Contains("arriving", tenant.SessionIds);
            clock.Now += TenantState.PruneInterval;
            Assert.True(await tenant.TryAddSessionAsync("third", 2, CancellationToken.None));
            Assert.DoesNotContain("arriving", tenant.SessionIds);
            Assert.Contains("live", tenant.SessionIds); // a live session is never taken for a stopped one
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task Sessions_that_stopped_on_their_own_free_their_places()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        await using var gateway = await TestGateways.StartAsync(sim, [
            "--Fantasy:Tenants:acme:Keys:0=sk-acme",
            "--Fantasy:Tenants:acme:MaxSessions=2",
            "--Fantasy:Hocon=fantasy.session.session-idle-timeout = 2s\nfantasy.session.idle-close-after = 1s",
        ]);
        using var http = new HttpClient { Timeout = Patience };

        using (var one = await TurnAsync(http, gateway, "one"))
        using (var two = await TurnAsync(http, gateway, "two"))
        using (var three = await TurnAsync(http, gateway, "three"))
        {
            Assert.Equal(HttpStatusCode.OK, one.StatusCode);
            Assert.Equal(HttpStatusCode.OK, two.StatusCode);
            Assert.Equal((HttpStatusCode)429, three.StatusCode); // both places taken by live sessions
        }

        // Both stop after their idle timeout; nothing told the gateway, yet the next new session gets a place.
        await StoppedAsync(gateway, "one");
        await StoppedAsync(gateway, "two");
        await AdmittedEventuallyAsync(http, gateway, "three");

        // A stopped session can still be deleted by its id (404: it no longer exists), and the tenant forgets it.
        var options = gateway.App.Services.GetRequiredService<GatewayOptions>();
        var tenant = gateway.App.Services.GetRequiredService<TenantDirectory>()[options.Tenants.Single(t => t.Name == "acme")];
        await StoppedAsync(gateway, "three");
        Assert.Contains("three", tenant.SessionIds);
        using (var deleted = await TurnAsync(http, gateway, "three", "DELETE"))
        {
            Assert.Equal(HttpStatusCode.NotFound, deleted.StatusCode);
        }

        Assert.DoesNotContain("three", tenant.SessionIds);
        Assert.Equal(0, tenant.SessionCount);
    }
}
