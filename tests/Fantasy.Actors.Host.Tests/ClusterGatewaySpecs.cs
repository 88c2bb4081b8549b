using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.DependencyInjection;

namespace Fantasy.Actors.Host.Tests;

/// <summary>Two gateway processes' worth of hosts in cluster mode (Fantasy:Cluster), in this process on 127.0.0.1.</summary>
public sealed partial class ClusterGatewaySpecs
{

    private static Task<Gateway> StartAsync(ResponsesSimulator sim, params string[] extra) =>
        TestGateways.StartAsync(sim, [
            "--Fantasy:Tenants:acme:Keys:0=sk-acme",
            "--Fantasy:Tenants:other:Keys:0=sk-other",
            "--Fantasy:Tenants:own:Keys:0=sk-own",
            "--Fantasy:Tenants:own:UpstreamApiKey=sk-upstream-own",
            "--Fantasy:Logging:MinimumLevel=Warning",
            "--Fantasy:Cluster:Enabled=true",
            "--Fantasy:Cluster:Hostname=127.0.0.1",
            "--Fantasy:Cluster:Port=0",
            .. extra,
        ]);

    private static async Task WaitUpAsync(Gateway gateway, int members)
    {
        var cluster = Akka.Cluster.Cluster.Get(gateway.App.Services.GetRequiredService<ActorSystem>());
        await UntilAsync(() => cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) >= members, () => $"{cluster.SelfAddress} sees fewer than {members} members up", TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task The_same_session_sent_to_two_gateways_keeps_one_upstream_socket_and_its_chain()
    {
        await using var sim = await ResponsesSimulator.StartAsync();

        // The first node has no seed nodes and joins itself; the second lists the first as its seed.
        await using var first = await StartAsync(sim);
        var firstSystem = first.App.Services.GetRequiredService<ActorSystem>();
        var firstCluster = Akka.Cluster.Cluster.Get(firstSystem);
        await firstCluster.JoinAsync(firstCluster.SelfAddress).WaitAsync(Patience);
        await using var second = await StartAsync(sim, $"--Fantasy:Cluster:SeedNodes:0={firstCluster.SelfAddress}");
        await WaitUpAsync(first, 2);
        await WaitUpAsync(second, 2);

        // Events and requests cross whole: the remoting frame holds the largest message a connection accepts.
        Assert.True(firstSystem.Settings.Config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size") >= 64L * 1024 * 1024);

        using var http = new HttpClient { Timeout = Patience };
        var history = new List<string>();
        for (var turn = 0; turn < 4; turn++)
        {
            var gateway = turn % 2 == 0 ? first : second;
            history.Add($$"""{"type":"message","role":"user","content":"turn {{turn}}"}""");
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/responses"))
            {
                Content = new StringContent($$"""{"model":"m","store":false,"input":[{{string.Join(',', history)}}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-acme");
            request.Headers.Add("X-Session-Id", "shared");
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            Assert.Equal(turn > 0 ? "true" : "false", response.Headers.GetValues("x-fantasy-chained").Single());
            using var doc = JsonDocument.Parse(body);
            foreach (var item in doc.RootElement.GetProperty("output").EnumerateArray())
            {
                history.Add(item.GetRawText());
            }

            Assert.Contains($"ok: {history.Count - 1}", body, StringComparison.Ordinal);
        }

        Assert.Equal(1, sim.Counters.ConnectionsOpened); // both gateways reached the one session, on its one socket

        // The tenant's index is replicated: the second gateway lists the session and takes a response id the first
        // produced; another tenant sees neither.
        var lastId = await LastResponseIdAsync(http, first, "sk-acme", "shared", history);
        var secondTenant = Tenant(second, "acme");
        await WaitForAsync(() => secondTenant.Owns(lastId) && secondTenant.HasSession("shared"));
        using (var listed = await SendAsync(http, HttpMethod.Get, second, "/v1/sessions", "sk-acme"))
        {
            Assert.Contains("\"id\":\"shared\"", await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var chained = await SendAsync(http, HttpMethod.Post, second, "/v1/responses", "sk-acme", $$"""{"model":"m","store":false,"previous_response_id":"{{lastId}}","input":"and then"}""", "shared"))
        {
            Assert.True(chained.IsSuccessStatusCode, await chained.Content.ReadAsStringAsync());
        }

        using (var foreign = await SendAsync(http, HttpMethod.Post, second, "/v1/responses", "sk-other", $$"""{"model":"m","store":false,"previous_response_id":"{{lastId}}","input":"steal"}""", "mine"))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, foreign.StatusCode); // previous_response_not_found
        }

        using (var otherList = await SendAsync(http, HttpMethod.Get, second, "/v1/sessions", "sk-other"))
        {
            Assert.DoesNotContain("shared", await otherList.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A conversation created through one gateway is its tenant's on the other too (replicated), and nobody else's.
        string conversation;
        using (var created = await SendAsync(http, HttpMethod.Post, first, "/v1/conversations", "sk-acme", """{"items":[{"role":"user","content":"kept"}]}"""))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            conversation = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        }

        await WaitForAsync(() => secondTenant.Cluster!.HasConversation(conversation));
        using (var read = await SendAsync(http, HttpMethod.Get, second, $"/v1/conversations/{conversation}/items", "sk-acme"))
        {
            Assert.True(read.IsSuccessStatusCode, await read.Content.ReadAsStringAsync());
        }

        using (var foreignConversation = await SendAsync(http, HttpMethod.Get, second, $"/v1/conversations/{conversation}", "sk-other"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, foreignConversation.StatusCode);
        }

        // A store:false response kept by the first gateway is read, listed and deleted through the second.
        string kept;
        using (var made = await SendAsync(http, HttpMethod.Post, first, "/v1/responses", "sk-acme", """{"model":"m","store":false,"input":"kept on the first"}"""))
        {
            kept = JsonDocument.Parse(await made.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        }

        await WaitForAsync(() => secondTenant.Owns(kept));
        using (var read = await SendAsync(http, HttpMethod.Get, second, $"/v1/responses/{kept}", "sk-acme"))
        {
            var body = await read.Content.ReadAsStringAsync();
            Assert.True(read.IsSuccessStatusCode, body);
            Assert.Equal("completed", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
        }

        using (var items = await SendAsync(http, HttpMethod.Get, second, $"/v1/responses/{kept}/input_items", "sk-acme"))
        {
            var body = await items.Content.ReadAsStringAsync();
            Assert.True(items.IsSuccessStatusCode, body);
            Assert.Contains("kept on the first", body, StringComparison.Ordinal);
        }

        using (var foreignRead = await SendAsync(http, HttpMethod.Get, second, $"/v1/responses/{kept}", "sk-other"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, foreignRead.StatusCode);
        }

        // A one-off turn through the second gateway chains from it by id: the first gateway's copy gives its context.
        using (var chained = await SendAsync(http, HttpMethod.Post, second, "/v1/responses", "sk-acme", $$"""{"model":"m","store":false,"previous_response_id":"{{kept}}","input":"chained on the second"}"""))
        {
            var body = await chained.Content.ReadAsStringAsync();
            Assert.True(chained.IsSuccessStatusCode, body);
            Assert.Contains("ok: 3", body, StringComparison.Ordinal);
        }

        using (var deleted = await SendAsync(http, HttpMethod.Delete, second, $"/v1/responses/{kept}", "sk-acme"))
        {
            Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());
        }

        using (var gone = await SendAsync(http, HttpMethod.Get, first, $"/v1/responses/{kept}", "sk-acme"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        }

        // A turn streaming through the first gateway is cancelled through the second.
        sim.Faults.Stall(TimeSpan.FromMinutes(5));
        using (var streaming = new HttpRequestMessage(HttpMethod.Post, new Uri(first.BaseAddress, "/v1/responses")))
        {
            streaming.Content = new StringContent("""{"model":"m","store":false,"stream":true,"input":"slow"}""", Encoding.UTF8, "application/json");
            streaming.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-acme");
            using var stream = await http.SendAsync(streaming, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
            string? running = null;
            while (running is null && await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal) && line.Contains("\"response.created\"", StringComparison.Ordinal))
                {
                    running = JsonDocument.Parse(line[6..]).RootElement.GetProperty("response").GetProperty("id").GetString();
                }
            }

            Assert.NotNull(running);
            await WaitForAsync(() => secondTenant.Owns(running)); // the tenant's from its start, on every node
            using (var cancelled = await SendAsync(http, HttpMethod.Post, second, $"/v1/responses/{running}/cancel", "sk-acme"))
            {
                var body = await cancelled.Content.ReadAsStringAsync();
                Assert.True(cancelled.IsSuccessStatusCode, body);
                Assert.Equal("cancelled", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
            }

            var rest = await reader.ReadToEndAsync();
            Assert.Contains("response_cancelled", rest, StringComparison.Ordinal);
        }

        // A tenant with its own upstream key has a region of its own, sharded as well: one socket for its session too.
        var socketsBefore = sim.Counters.ConnectionsOpened;
        for (var turn = 0; turn < 4; turn++)
        {
            using var own = await SendAsync(http, HttpMethod.Post, turn % 2 == 0 ? first : second, "/v1/responses", "sk-own", $$"""{"model":"m","store":false,"input":"turn {{turn}}"}""", "own-session");
            Assert.True(own.IsSuccessStatusCode, await own.Content.ReadAsStringAsync());
        }

        Assert.Equal(socketsBefore + 1, sim.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task A_gateway_only_node_serves_turns_for_sessions_hosted_on_the_sessions_nodes()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        await using var sessionsNode = await StartAsync(sim, "--Fantasy:Cluster:Roles:0=sessions");
        var seed = Akka.Cluster.Cluster.Get(sessionsNode.App.Services.GetRequiredService<ActorSystem>());
        await seed.JoinAsync(seed.SelfAddress).WaitAsync(Patience);
        await using var gatewayOnly = await StartAsync(sim, "--Fantasy:Cluster:Roles:0=gateway", $"--Fantasy:Cluster:SeedNodes:0={seed.SelfAddress}");
        await WaitUpAsync(gatewayOnly, 2);

        using var http = new HttpClient { Timeout = Patience };
        for (var turn = 0; turn < 3; turn++)
        {
            using var response = await SendAsync(http, HttpMethod.Post, gatewayOnly, "/v1/responses", "sk-acme", $$"""{"model":"m","store":false,"input":"turn {{turn}}"}""", "through-proxy");
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(1, sim.Counters.ConnectionsOpened);

        // The session lives on the sessions node; the gateway-only node hosts none.
        var hosted = await ShardedSessionsAsync(sessionsNode);
        Assert.Contains("acme~through-proxy", hosted);
        Assert.Empty(await ShardedSessionsAsync(gatewayOnly));
    }

    private static async Task<List<string>> ShardedSessionsAsync(Gateway gateway)
    {
        var system = gateway.App.Services.GetRequiredService<ActorSystem>();
        var region = Akka.Cluster.Sharding.ClusterSharding.Get(system).ShardRegion("fantasy-sessions");
        var state = await region.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(Akka.Cluster.Sharding.GetShardRegionState.Instance, Patience);
        return [.. state.Shards.SelectMany(s => s.EntityIds)];
    }

    private static TenantState Tenant(Gateway gateway, string name)
    {
        var directory = gateway.App.Services.GetRequiredService<TenantDirectory>();
        return directory[gateway.Options.Tenants.Single(t => t.Name == name)];
    }

    private static Task WaitForAsync(Func<bool> condition) => UntilAsync(condition, () => "the condition never held");

    [Fact]
    public async Task A_session_the_replicated_index_has_not_reached_is_found_and_deleted_through_any_gateway()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        await using var first = await StartAsync(sim);
        var firstCluster = Akka.Cluster.Cluster.Get(first.App.Services.GetRequiredService<ActorSystem>());
        await firstCluster.JoinAsync(firstCluster.SelfAddress).WaitAsync(Patience);
        await using var second = await StartAsync(sim, $"--Fantasy:Cluster:SeedNodes:0={firstCluster.SelfAddress}");
        await WaitUpAsync(first, 2);
        await WaitUpAsync(second, 2);

        // A session that exists (sharded, on whichever node) but that no gateway's index lists: what a session
        // created through another gateway a moment ago looks like before the replicated index arrives.
        var sessions = first.App.Services.GetRequiredService<IResponsesSessions>();
        var end = await sessions.RunTurnToEndAsync(new SessionKey("acme", "unindexed"), ResponseRequest.Parse("""{"model":"m","input":"hi"}"""u8)).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        using var http = new HttpClient { Timeout = Patience };

        using (var status = await SendAsync(http, HttpMethod.Get, second, "/v1/sessions/unindexed", "sk-acme"))
        {
            Assert.True(status.IsSuccessStatusCode, await status.Content.ReadAsStringAsync());
        }

        using (var otherTenant = await SendAsync(http, HttpMethod.Delete, second, "/v1/sessions/unindexed", "sk-other"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, otherTenant.StatusCode); // another tenant's key reaches nothing
        }

        using (var deleted = await SendAsync(http, HttpMethod.Delete, second, "/v1/sessions/unindexed", "sk-acme"))
        {
            Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());
        }

        Assert.Null(await sessions.GetStatusAsync(new SessionKey("acme", "unindexed")));
        using var again = await SendAsync(http, HttpMethod.Delete, first, "/v1/sessions/unindexed", "sk-acme");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task A_tenants_session_limit_holds_across_gateways_admitting_at_the_same_moment()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        const string limited = "--Fantasy:Tenants:acme:MaxSessions=5";
        await using var first = await StartAsync(sim, limited);
        var firstCluster = Akka.Cluster.Cluster.Get(first.App.Services.GetRequiredService<ActorSystem>());
        await firstCluster.JoinAsync(firstCluster.SelfAddress).WaitAsync(Patience);
        await using var second = await StartAsync(sim, limited, $"--Fantasy:Cluster:SeedNodes:0={firstCluster.SelfAddress}");
        await WaitUpAsync(first, 2);
        await WaitUpAsync(second, 2);
        using var http = new HttpClient { Timeout = Patience };

        // Twenty new conversations at once, ten through each gateway, for five places: each gateway alone would
        // admit up to five of its own before the other's replicated set reached it.
        var attempts = Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await SendAsync(http, HttpMethod.Post, i % 2 == 0 ? first : second, "/v1/responses", "sk-acme", """{"model":"m","input":"hi"}""", $"limited-{i}");
            var body = await response.Content.ReadAsStringAsync();
            return (Session: $"limited-{i}", response.StatusCode, Body: body);
        }).ToList();
        var results = await Task.WhenAll(attempts).WaitAsync(Patience);

        var admitted = results.Where(r => r.StatusCode == System.Net.HttpStatusCode.OK).Select(r => r.Session).ToList();
        Assert.Equal(5, admitted.Count);
        Assert.All(results.Where(r => r.StatusCode != System.Net.HttpStatusCode.OK), r =>
        {
            Assert.Equal((System.Net.HttpStatusCode)429, r.StatusCode);
            Assert.Contains("too_many_sessions", r.Body, StringComparison.Ordinal);
        });

        // A session the tenant already has is no new session; a closed one frees its place on every node.
        using (var again = await SendAsync(http, HttpMethod.Post, second, "/v1/responses", "sk-acme", """{"model":"m","input":"again"}""", admitted[0]))
        {
            Assert.True(again.IsSuccessStatusCode, await again.Content.ReadAsStringAsync());
        }

        using (var closed = await SendAsync(http, HttpMethod.Delete, second, $"/v1/sessions/{admitted[1]}", "sk-acme"))
        {
            Assert.True(closed.IsSuccessStatusCode, await closed.Content.ReadAsStringAsync());
        }

        using (var sixth = await SendAsync(http, HttpMethod.Post, first, "/v1/responses", "sk-acme", """{"model":"m","input":"in its place"}""", "limited-new"))
        {
            Assert.True(sixth.IsSuccessStatusCode, await sixth.Content.ReadAsStringAsync());
        }

        using var seventh = await SendAsync(http, HttpMethod.Post, second, "/v1/responses", "sk-acme", """{"model":"m","input":"one too many"}""", "limited-newer");
        Assert.Equal((System.Net.HttpStatusCode)429, seventh.StatusCode);
    }

    [Fact]
    public async Task A_session_that_stopped_on_its_own_frees_its_place_across_gateways()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        string[] limited = ["--Fantasy:Tenants:acme:MaxSessions=1", "--Fantasy:Hocon=fantasy.session.session-idle-timeout = 2s\nfantasy.session.idle-close-after = 1s"];
        await using var first = await StartAsync(sim, limited);
        var firstCluster = Akka.Cluster.Cluster.Get(first.App.Services.GetRequiredService<ActorSystem>());
        await firstCluster.JoinAsync(firstCluster.SelfAddress).WaitAsync(Patience);
        await using var second = await StartAsync(sim, [.. limited, $"--Fantasy:Cluster:SeedNodes:0={firstCluster.SelfAddress}"]);
        await WaitUpAsync(first, 2);
        await WaitUpAsync(second, 2);
        using var http = new HttpClient { Timeout = Patience };

        using (var one = await SendAsync(http, HttpMethod.Post, first, "/v1/responses", "sk-acme", """{"model":"m","input":"hi"}""", "place-1"))
        using (var two = await SendAsync(http, HttpMethod.Post, second, "/v1/responses", "sk-acme", """{"model":"m","input":"hi"}""", "place-2"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, one.StatusCode);
            Assert.Equal((System.Net.HttpStatusCode)429, two.StatusCode);
        }

        // The first session stops after its idle timeout wherever it lives; the other gateway's next try gets its place.
        await SessionLimitSpecs.StoppedAsync(first, "place-1");
        await SessionLimitSpecs.AdmittedEventuallyAsync(http, second, "place-2");

        // And the place is taken again, for every node.
        using var three = await SendAsync(http, HttpMethod.Post, first, "/v1/responses", "sk-acme", """{"model":"m","input":"hi"}""", "place-3");
        Assert.Equal((System.Net.HttpStatusCode)429, three.StatusCode);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, Gateway gateway, string path, string key, string? json = null, string? session = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(gateway.BaseAddress, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (session is not null)
        {
            request.Headers.Add("X-Session-Id", session);
        }

        return await http.SendAsync(request);
    }

    /// <summary>One more turn through <paramref name="gateway"/>; its response id.</summary>
    private static async Task<string> LastResponseIdAsync(HttpClient http, Gateway gateway, string key, string session, List<string> history)
    {
        history.Add("""{"type":"message","role":"user","content":"one more"}""");
        using var response = await SendAsync(http, HttpMethod.Post, gateway, "/v1/responses", key, $$"""{"model":"m","store":false,"input":[{{string.Join(',', history)}}]}""", session);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("id").GetString()!;
    }
}
