using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// The built gateway as a real process on a SQLite file, stopped hard (<c>kill -9</c>) or cleanly (SIGTERM) between
/// two turns of a conversation and started again: the conversation continues with its exact context, and a tenant
/// can still chain from the response ids it was given.
/// </summary>
public sealed class DurableGatewaySpecs : IAsyncLifetime
{
    private const string Key = "sk-durable";
    private readonly string dir = Path.Combine(Path.GetTempPath(), "fantasy-gw-" + Guid.NewGuid().ToString("N")[..10]);
    private ResponsesSimulator sim = null!;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 64 });

    public async Task DisposeAsync()
    {
        await sim.DisposeAsync();
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public enum Halt
    {
        Kill9,
        SigTerm,
    }

    [Theory]
    [InlineData(Halt.Kill9)]
    [InlineData(Halt.SigTerm)]
    public async Task A_store_false_conversation_continues_with_its_whole_context_after_the_gateway_restarts(Halt stop)
    {
        string r2;
        var outputs = new List<string>();
        var gateway = await StartAsync();
        try
        {
            var r1 = await TurnAsync(gateway.BaseUrl, "alpha", "chat", previous: null, store: false);
            outputs.Add(r1.Text);
            var second = await TurnAsync(gateway.BaseUrl, "bravo", "chat", r1.Id, store: false);
            outputs.Add(second.Text);
            r2 = second.Id;
            Assert.Equal(r1.Id, PreviousId(LastSent())); // chained before the restart
        }
        finally
        {
            await StopAsync(gateway.Process, stop);
        }

        gateway = await StartAsync();
        try
        {
            var third = await TurnAsync(gateway.BaseUrl, "charlie", "chat", r2, store: false);
            var sent = LastSent();
            Assert.Null(PreviousId(sent)); // the whole context, once
            Assert.Equal(["alpha", outputs[0], "bravo", outputs[1], "charlie"], Texts(sent));

            await TurnAsync(gateway.BaseUrl, "delta", "chat", third.Id, store: false);
            Assert.Equal(third.Id, PreviousId(LastSent())); // then chained again
            Assert.Equal(["delta"], Texts(LastSent()));
        }
        finally
        {
            await StopAsync(gateway.Process, Halt.SigTerm);
        }
    }

    [Fact]
    public async Task A_tenant_chains_from_a_stored_response_it_was_given_before_a_hard_restart()
    {
        string r1;
        var gateway = await StartAsync();
        try
        {
            // No session id: a one-off session; the upstream stores the response.
            r1 = (await TurnAsync(gateway.BaseUrl, "stored", session: null, previous: null, store: true)).Id;
        }
        finally
        {
            await StopAsync(gateway.Process, Halt.Kill9);
        }

        gateway = await StartAsync();
        try
        {
            var next = await TurnAsync(gateway.BaseUrl, "next", session: null, r1, store: true);
            Assert.NotEmpty(next.Id);
            Assert.Equal(r1, PreviousId(LastSent()));

            // Another tenant is still refused the id.
            using var http = new HttpClient();
            using var other = Post(gateway.BaseUrl, "steal", null, r1, store: true, key: "sk-other");
            using var refused = await http.SendAsync(other);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode); // previous_response_not_found, as the API answers
        }
        finally
        {
            await StopAsync(gateway.Process, Halt.SigTerm);
        }
    }

    [Fact]
    public async Task Deleting_a_session_removes_its_conversation_from_the_database_file_and_readyz_reports_the_store()
    {
        const string Marker = "GATEWAY-MARKER-0d41";
        var gateway = await StartAsync();
        try
        {
            await TurnAsync(gateway.BaseUrl, Marker, "private", previous: null, store: false);
            using var http = new HttpClient();
            using var ready = await http.GetAsync(new Uri(gateway.BaseUrl.Replace("/v1", "/readyz", StringComparison.Ordinal)));
            var persistence = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("persistence");
            Assert.Equal("sqlite", persistence.GetProperty("provider").GetString());
            Assert.True(persistence.GetProperty("reachable").GetBoolean());
            Assert.True(FileContains(Marker));

            using var delete = new HttpRequestMessage(HttpMethod.Delete, gateway.BaseUrl + "/sessions/private");
            delete.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            using var deleted = await http.SendAsync(delete);
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }
        finally
        {
            await StopAsync(gateway.Process, Halt.SigTerm);
        }

        Assert.False(FileContains(Marker), "the deleted session's text is still in the SQLite file");
    }

    [Fact]
    public async Task Without_persistence_settings_the_gateway_keeps_conversations_in_a_sqlite_file_under_its_working_directory_and_warms_up_without_the_upstream()
    {
        Directory.CreateDirectory(dir);
        var hostDir = HostProcess.HostDirectory();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = dir };
        start.Environment.Remove(TestDefaults.PersistenceVariable); // as a person runs it: nothing configured
        start.Environment.Remove(TestDefaults.WarmUpVariable);
        var upstreamBefore = (sim.Counters.ConnectionsOpened, sim.Counters.ResponseCreateFrames, sim.Counters.HttpPosts);
        foreach (var arg in new[]
                 {
                     Path.Combine(hostDir, "Fantasy.Actors.Host.dll"), "--urls", "http://127.0.0.1:0",
                     $"--Fantasy:Upstream:BaseUrl={sim.BaseUrl}", $"--Fantasy:Upstream:WebSocketUrl={sim.WebSocketUrl}",
                     "--Fantasy:Upstream:ApiKey=sk-upstream", $"--Fantasy:Tenants:durable:Keys:0={Key}",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        var (process, output, ready) = await HostProcess.StartAsync(start, TimeSpan.FromMinutes(1));
        try
        {
            // The warm-up ran before READY, on its own simulator: the upstream has seen nothing yet.
            lock (output)
            {
                Assert.Contains("warm-up: a 3-turn conversation through the gateway's own code in", output.ToString(), StringComparison.Ordinal);
            }

            Assert.Equal(upstreamBefore, (sim.Counters.ConnectionsOpened, sim.Counters.ResponseCreateFrames, sim.Counters.HttpPosts));
            await TurnAsync(ready.Split(' ')[1], "kept by default", "default", previous: null, store: false);
            Assert.True(File.Exists(Path.Combine(dir, "data", "fantasy.db")), "no data/fantasy.db under the working directory");
            lock (output)
            {
                Assert.Contains("conversations: Sqlite data/fantasy.db", output.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            await StopAsync(process, Halt.SigTerm);
        }
    }

    private bool FileContains(string marker) =>
        Directory.GetFiles(dir).Any(f => File.ReadAllBytes(f).AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker)) >= 0);

    private sealed record Started(Process Process, string BaseUrl);

    private sealed record Answer(string Id, string Text);

    private async Task<Started> StartAsync()
    {
        var hostDir = HostProcess.HostDirectory();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = hostDir };
        foreach (var arg in new[]
                 {
                     Path.Combine(hostDir, "Fantasy.Actors.Host.dll"), "--urls", "http://127.0.0.1:0",
                     $"--Fantasy:Upstream:BaseUrl={sim.BaseUrl}", $"--Fantasy:Upstream:WebSocketUrl={sim.WebSocketUrl}",
                     "--Fantasy:Upstream:ApiKey=sk-upstream", $"--Fantasy:Tenants:durable:Keys:0={Key}", "--Fantasy:Tenants:other:Keys:0=sk-other",
                     "--Fantasy:Persistence:Provider=Sqlite", $"--Fantasy:Persistence:ConnectionString=Data Source={Path.Combine(dir, "fantasy.db")}",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        var (process, _, ready) = await HostProcess.StartAsync(start, TimeSpan.FromMinutes(1));
        return new Started(process, ready.Split(' ')[1]);
    }

    private static async Task StopAsync(Process process, Halt stop)
    {
        if (stop == Halt.Kill9)
        {
            process.Kill(entireProcessTree: true);
        }
        else
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", $"-15 {process.Id}") { UseShellExecute = false })!;
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync().WaitAsync(Patience);
        process.Dispose();
    }

    private static HttpRequestMessage Post(string baseUrl, string input, string? session, string? previous, bool store, string key = Key)
    {
        var previousJson = previous is null ? string.Empty : $",\"previous_response_id\":\"{previous}\"";
        var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/responses")
        {
            Content = new StringContent($$"""{"model":"m","input":"{{input}}","store":{{(store ? "true" : "false")}}{{previousJson}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (session is not null)
        {
            request.Headers.Add("X-Session-Id", session);
        }

        return request;
    }

    private static async Task<Answer> TurnAsync(string baseUrl, string input, string? session, string? previous, bool store)
    {
        using var http = new HttpClient();
        using var request = Post(baseUrl, input, session, previous, store);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var root = JsonDocument.Parse(body).RootElement;
        var text = string.Concat(root.GetProperty("output").EnumerateArray()
            .Where(o => o.GetProperty("type").GetString() == "message")
            .SelectMany(o => o.GetProperty("content").EnumerateArray())
            .Select(c => c.TryGetProperty("text", out var t) ? t.GetString() : string.Empty));
        return new Answer(root.GetProperty("id").GetString()!, text);
    }

    private JsonElement LastSent() => JsonDocument.Parse(sim.Counters.LastRequests[^1].Body).RootElement;

    private static string? PreviousId(JsonElement body) =>
        body.TryGetProperty("previous_response_id", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    private static List<string> Texts(JsonElement body)
    {
        var input = body.GetProperty("input");
        if (input.ValueKind == JsonValueKind.String)
        {
            return [input.GetString()!];
        }

        return [.. input.EnumerateArray().Select(item =>
            item.GetProperty("content") is var content && content.ValueKind == JsonValueKind.String
                ? content.GetString()!
                : string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : string.Empty)))];
    }
}
