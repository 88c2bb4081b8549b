using System.ClientModel;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Simulator;
using OpenAI.Responses;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// What a tenant owns outside its sessions survives the gateway's restart on the same database: a conversation it
/// created stays its own (and nobody else's), a response it stored upstream stays readable by it alone, a response it
/// deleted stays deleted; a <c>store:false</c> response, which the upstream never kept, is read back from its session's
/// journal.
/// </summary>
public sealed class DurableOwnershipSpecs : IAsyncLifetime
{
    private const string AcmeKey = "sk-acme-durable";
    private const string GlobexKey = "sk-globex-durable";
    private readonly string dir = Path.Combine(Path.GetTempPath(), "fantasy-own-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly HttpClient http = new() { Timeout = Patience };
    private ResponsesSimulator sim = null!;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync();

    public async Task DisposeAsync()
    {
        http.Dispose();
        await sim.DisposeAsync();
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private Task<Gateway> StartAsync(params string[] extra) => TestGateways.StartAsync(sim, [
        $"--Fantasy:Tenants:acme:Keys:0={AcmeKey}",
        $"--Fantasy:Tenants:globex:Keys:0={GlobexKey}",
        "--Fantasy:Persistence:Provider=Sqlite",
        $"--Fantasy:Persistence:ConnectionString=Data Source={Path.Combine(dir, "fantasy.db")}",
        "--Fantasy:Gateway:WarmUp=false",
        .. extra,
    ]);

    private async Task<(int Status, JsonElement Body)> SendAsync(Gateway gateway, HttpMethod method, string path, string key, string? json = null, string? session = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(gateway.BaseAddress, "/v1/" + path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (session is not null)
        {
            request.Headers.Add(TurnRequest.SessionHeader, session);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task A_conversation_and_a_stored_response_stay_their_tenants_and_a_deleted_response_stays_deleted_across_a_restart()
    {
        string conversation;
        string deleted;
        string stored;
        await using (var first = await StartAsync())
        {
            var (_, created) = await SendAsync(first, HttpMethod.Post, "conversations", AcmeKey, """{"items":[{"role":"user","content":"remember"}]}""");
            conversation = created.GetProperty("id").GetString()!;
            // In a recorded session and not stored upstream: only the gateway's own record can refuse it after the restart.
            var (_, response) = await SendAsync(first, HttpMethod.Post, "responses", AcmeKey, """{"model":"sim-model","input":"soon gone","store":false}""", session: "kept");
            deleted = response.GetProperty("id").GetString()!;
            Assert.Equal(200, (await SendAsync(first, HttpMethod.Delete, "responses/" + deleted, AcmeKey)).Status);
            var (_, kept) = await SendAsync(first, HttpMethod.Post, "responses", AcmeKey, """{"model":"sim-model","input":"kept upstream","store":true}""", session: "stored");
            stored = kept.GetProperty("id").GetString()!;
        }

        await using var second = await StartAsync();
        Assert.Equal(200, (await SendAsync(second, HttpMethod.Get, $"conversations/{conversation}/items", AcmeKey)).Status);
        Assert.Equal(404, (await SendAsync(second, HttpMethod.Get, $"conversations/{conversation}", GlobexKey)).Status);
        Assert.Equal(404, (await SendAsync(second, HttpMethod.Get, "responses/" + deleted, AcmeKey)).Status);
        // Stored upstream, its owner recorded: the owner reads it through the gateway after the restart, nobody else does.
        var (read, body) = await SendAsync(second, HttpMethod.Get, "responses/" + stored, AcmeKey);
        Assert.Equal(200, read);
        Assert.Equal(stored, body.GetProperty("id").GetString());
        Assert.Equal(404, (await SendAsync(second, HttpMethod.Get, "responses/" + stored, GlobexKey)).Status);
        var (status, error) = await SendAsync(second, HttpMethod.Post, "responses", AcmeKey, $$"""{"model":"sim-model","input":"x","store":false,"previous_response_id":"{{deleted}}"}""", session: "kept");
        Assert.Equal(400, status);
        Assert.Equal("previous_response_not_found", error.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_store_false_response_is_read_back_from_its_sessions_journal_after_a_restart()
    {
        string first;
        string second;
        string outputBefore;
        string itemsBefore;
        await using (var gateway = await StartAsync())
        {
            var (_, one) = await SendAsync(gateway, HttpMethod.Post, "responses", AcmeKey, """{"model":"sim-model","instructions":"be brief","input":"first question","store":false}""", session: "journal");
            first = one.GetProperty("id").GetString()!;
            var (_, two) = await SendAsync(gateway, HttpMethod.Post, "responses", AcmeKey, $$"""{"model":"sim-model","instructions":"be brief","previous_response_id":"{{first}}","input":"second question","store":false}""", session: "journal");
            second = two.GetProperty("id").GetString()!;
            outputBefore = two.GetProperty("output").GetRawText();
            itemsBefore = (await SendAsync(gateway, HttpMethod.Get, $"responses/{second}/input_items?order=asc", AcmeKey)).Body.GetProperty("data").GetRawText();
        }

        await using var again = await StartAsync();

        // The official SDK reads the rebuilt Response object.
        var client = new ResponsesClient(new ApiKeyCredential(AcmeKey), new ResponsesClientOptions { Endpoint = new Uri(again.BaseAddress, "/v1") });
        ResponseResult read = await client.GetResponseAsync(second).WaitAsync(Patience);
        Assert.Equal(second, read.Id);
        Assert.Equal(ResponseStatus.Completed, read.Status);
        Assert.Equal("ok: 3", read.GetOutputText()); // the simulator's answer to the three items of its context

        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri(again.BaseAddress, "/v1/responses/" + second)))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AcmeKey);
            using var response = await http.SendAsync(request);
            Assert.Equal("journal", response.Headers.GetValues("x-fantasy-source").Single());
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(outputBefore, body.GetProperty("output").GetRawText()); // the output items byte for byte
            Assert.Equal("be brief", body.GetProperty("instructions").GetString());
            Assert.False(body.GetProperty("store").GetBoolean());
        }

        // The input items exactly as the gateway listed them before the restart: the chained turn's whole context.
        var (status, items) = await SendAsync(again, HttpMethod.Get, $"responses/{second}/input_items?order=asc", AcmeKey);
        Assert.Equal(200, status);
        Assert.Equal(itemsBefore, items.GetProperty("data").GetRawText());
        Assert.Equal(3, items.GetProperty("data").GetArrayLength());
        var (_, firstItems) = await SendAsync(again, HttpMethod.Get, $"responses/{first}/input_items", AcmeKey);
        Assert.Contains("first question", firstItems.GetProperty("data").GetRawText(), StringComparison.Ordinal);
        Assert.Equal(1, firstItems.GetProperty("data").GetArrayLength());

        // Chained from by id after the restart: the context comes from the journal (the upstream never held it on a
        // connection of this process) — a one-off turn from the session's latest, and the session branching from its first.
        var (oneOffStatus, oneOff) = await SendAsync(again, HttpMethod.Post, "responses", AcmeKey, $$"""{"model":"sim-model","previous_response_id":"{{second}}","input":"third question","store":false}""");
        Assert.Equal(200, oneOffStatus);
        Assert.Equal("ok: 5", oneOff.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        var (branchStatus, branch) = await SendAsync(again, HttpMethod.Post, "responses", AcmeKey, $$"""{"model":"sim-model","previous_response_id":"{{first}}","input":"second, again","store":false}""", session: "journal");
        Assert.Equal(200, branchStatus);
        Assert.Equal("ok: 3", branch.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(400, (await SendAsync(again, HttpMethod.Post, "responses", GlobexKey, $$"""{"model":"sim-model","previous_response_id":"{{second}}","input":"mine?","store":false}""")).Status);

        // Nobody else's; and once deleted, gone.
        Assert.Equal(404, (await SendAsync(again, HttpMethod.Get, "responses/" + second, GlobexKey)).Status);
        Assert.Equal(404, (await SendAsync(again, HttpMethod.Get, $"responses/{second}/input_items", GlobexKey)).Status);
        Assert.Equal(400, (await SendAsync(again, HttpMethod.Post, $"responses/{second}/cancel", AcmeKey)).Status); // completed
        Assert.Equal(200, (await SendAsync(again, HttpMethod.Delete, "responses/" + second, AcmeKey)).Status);
        Assert.Equal(404, (await SendAsync(again, HttpMethod.Get, "responses/" + second, AcmeKey)).Status);
    }

    [Fact]
    public async Task A_journal_that_cannot_be_opened_is_a_503_not_a_missing_response()
    {
        string id;
        var secret = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        await using (var keyed = await StartAsync($"--Fantasy:Persistence:EncryptionKey={secret}"))
        {
            var (_, made) = await SendAsync(keyed, HttpMethod.Post, "responses", AcmeKey, """{"model":"sim-model","input":"sealed","store":false}""", session: "sealed");
            id = made.GetProperty("id").GetString()!;
        }

        // Started without the key: the id is still the tenant's (its tag is not encrypted), its items cannot be read.
        await using var unkeyed = await StartAsync();
        var (status, error) = await SendAsync(unkeyed, HttpMethod.Get, $"responses/{id}/input_items", AcmeKey);
        Assert.Equal(503, status);
        Assert.Equal("persistence_unavailable", error.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("encryption-key", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
