using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.Simulator.Tests;

/// <summary>The Simulator's other endpoints answer in the API's shapes: models, stored responses, input tokens, compaction, conversations.</summary>
public sealed class ApiEndpointSpecs : IAsyncLifetime
{
    private ResponsesSimulator sim = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { ApiKeys = ["sk-test"] });
        http = new HttpClient { BaseAddress = new Uri(sim.BaseUrl + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-test");
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await sim.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task Models_are_listed_and_read_and_an_unknown_one_is_404_model_not_found()
    {
        var (status, list) = await SendAsync(HttpMethod.Get, "models");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("list", list.GetProperty("object").GetString());
        Assert.All(list.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));
        Assert.Equal("gpt-4o", (await SendAsync(HttpMethod.Get, "models/gpt-4o")).Body.GetProperty("id").GetString());
        var (missing, error) = await SendAsync(HttpMethod.Get, "models/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("model_not_found", error.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_stored_response_is_retrieved_with_its_context_as_input_items_and_deleted_a_store_false_one_is_not_found()
    {
        var (_, first) = await SendAsync(HttpMethod.Post, "responses", """{"model":"m","input":"one"}""");
        var (_, second) = await SendAsync(HttpMethod.Post, "responses", $$"""{"model":"m","input":"two","previous_response_id":"{{first.GetProperty("id").GetString()}}"}""");
        var id = second.GetProperty("id").GetString();

        var (status, retrieved) = await SendAsync(HttpMethod.Get, $"responses/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(id, retrieved.GetProperty("id").GetString());
        Assert.Equal("completed", retrieved.GetProperty("status").GetString());

        var (_, items) = await SendAsync(HttpMethod.Get, $"responses/{id}/input_items?order=asc");
        var data = items.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(3, data.Count); // one, the first answer, two
        Assert.Equal("one", data[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("assistant", data[1].GetProperty("role").GetString());
        Assert.All(data, i => Assert.False(string.IsNullOrEmpty(i.GetProperty("id").GetString())));

        var (deleted, body) = await SendAsync(HttpMethod.Delete, $"responses/{id}");
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.True(body.GetProperty("deleted").GetBoolean());
        var (gone, error) = await SendAsync(HttpMethod.Get, $"responses/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone);
        Assert.Equal(JsonValueKind.Null, error.GetProperty("error").GetProperty("code").ValueKind);

        var (_, unstored) = await SendAsync(HttpMethod.Post, "responses", """{"model":"m","input":"x","store":false}""");
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, $"responses/{unstored.GetProperty("id").GetString()}")).Status);
    }

    [Fact]
    public async Task Input_tokens_grow_with_the_input_and_compaction_keeps_user_messages_and_adds_a_compaction_item()
    {
        var (_, small) = await SendAsync(HttpMethod.Post, "responses/input_tokens", """{"model":"m","input":"hi"}""");
        var (_, large) = await SendAsync(HttpMethod.Post, "responses/input_tokens", $$"""{"model":"m","input":"{{new string('x', 4000)}}"}""");
        Assert.Equal("response.input_tokens", small.GetProperty("object").GetString());
        Assert.True(large.GetProperty("input_tokens").GetInt32() > small.GetProperty("input_tokens").GetInt32() + 900);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(HttpMethod.Post, "responses/input_tokens", """{"model":"m","input":"x","previous_response_id":"resp_nope"}""")).Status);

        var (status, compacted) = await SendAsync(HttpMethod.Post, "responses/compact",
            """{"model":"m","input":[{"role":"user","content":"a"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"b"}]},{"role":"user","content":"c"}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("response.compaction", compacted.GetProperty("object").GetString());
        var output = compacted.GetProperty("output").EnumerateArray().ToList();
        Assert.Equal(["message", "message", "compaction"], output.Select(o => o.GetProperty("type").GetString() ?? string.Empty).ToArray());
        Assert.True(compacted.GetProperty("usage").GetProperty("total_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task A_conversation_is_created_updated_given_items_listed_and_deleted()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "conversations", """{"metadata":{"a":"1"},"items":[{"role":"user","content":"hello"}]}""");
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal("conversation", created.GetProperty("object").GetString());

        var (_, added) = await SendAsync(HttpMethod.Post, $"conversations/{id}/items", """{"items":[{"type":"message","role":"assistant","content":"hi"}]}""");
        var itemId = added.GetProperty("data")[0].GetProperty("id").GetString();
        Assert.Equal("hi", (await SendAsync(HttpMethod.Get, $"conversations/{id}/items/{itemId}")).Body.GetProperty("content")[0].GetProperty("text").GetString());

        var (_, listed) = await SendAsync(HttpMethod.Get, $"conversations/{id}/items?limit=1");
        Assert.Equal(itemId, listed.GetProperty("first_id").GetString()); // newest first
        Assert.True(listed.GetProperty("has_more").GetBoolean());

        var (_, updated) = await SendAsync(HttpMethod.Post, $"conversations/{id}", """{"metadata":{"a":"2"}}""");
        Assert.Equal("2", updated.GetProperty("metadata").GetProperty("a").GetString());

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, $"conversations/{id}/items/{itemId}")).Status);
        Assert.Single((await SendAsync(HttpMethod.Get, $"conversations/{id}/items")).Body.GetProperty("data").EnumerateArray());
        var (_, deleted) = await SendAsync(HttpMethod.Delete, $"conversations/{id}");
        Assert.Equal("conversation.deleted", deleted.GetProperty("object").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, $"conversations/{id}")).Status);
    }

    [Fact]
    public async Task Every_endpoint_wants_a_valid_key_and_an_unknown_path_is_the_apis_404()
    {
        using var anonymous = new HttpClient { BaseAddress = http.BaseAddress };
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("models")).StatusCode);
        var (status, error) = await SendAsync(HttpMethod.Get, "nothing");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("Invalid URL (GET /v1/nothing)", error.GetProperty("error").GetProperty("message").GetString());
    }
}
