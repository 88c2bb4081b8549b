using System.ClientModel;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Responses;
using static Fantasy.Actors.Host.Tests.ApiSurfaceFixture;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// The rest of the Responses API through the gateway, driven by the official OpenAI .NET SDK: models, the tenant's own
/// responses (retrieve, input items, cancel, delete — store:false ones included), input tokens, compaction,
/// conversations, and every id kept to its tenant.
/// </summary>
[Collection(ApiSurfaceGroup.Name)]
public sealed class ApiSurfaceSpecs(ApiSurfaceFixture fx)
{
    [Fact]
    public async Task Models_are_listed_with_the_upstream_key_and_kept_briefly()
    {
        var models = (await fx.Models().GetModelsAsync().WaitAsync(Patience)).Value;
        Assert.Contains(models, m => m.Id == "gpt-4.1-mini");

        // The next list is the gateway's copy: the upstream is not asked again.
        var calls = fx.Sim.Counters.ApiCalls;
        var (status, body, response) = await fx.SendAsync(HttpMethod.Get, "models");
        Assert.Equal(200, status);
        Assert.Equal("hit", response.Headers.GetValues("x-fantasy-cache").Single());
        Assert.Equal("list", body.GetProperty("object").GetString());
        Assert.Equal(calls, fx.Sim.Counters.ApiCalls);

        var one = (await fx.Models(GlobexKey).GetModelAsync("gpt-4o").WaitAsync(Patience)).Value;
        Assert.Equal("gpt-4o", one.Id);
    }

    [Fact]
    public async Task A_store_false_response_and_its_input_items_are_retrieved_from_the_gateway_and_only_by_its_tenant()
    {
        var client = fx.Responses(sessionId: "retrieve-1");
        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("hello")]) { StoredOutputEnabled = false }).WaitAsync(Patience);
        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("again")]) { StoredOutputEnabled = false, PreviousResponseId = first.Id }).WaitAsync(Patience);

        // The upstream never stored it: only the gateway can answer.
        Assert.Equal(404, (await fx.UpstreamAsync(HttpMethod.Get, "responses/" + second.Id)).Status);

        ResponseResult retrieved = await fx.Responses().GetResponseAsync(second.Id).WaitAsync(Patience);
        Assert.Equal(second.Id, retrieved.Id);
        Assert.Equal(ResponseStatus.Completed, retrieved.Status);
        Assert.Equal(second.GetOutputText(), retrieved.GetOutputText());

        // Its input: the first turn's input and output, then its own (newest first by default, as the API lists them).
        var items = new List<ResponseItem>();
        await foreach (var item in fx.Responses().GetResponseInputItemsAsync(second.Id))
        {
            items.Add(item);
        }

        Assert.Equal(3, items.Count);
        Assert.Equal("again", Text(items[0]));
        Assert.Equal(first.GetOutputText(), Text(items[1]));
        Assert.Equal("hello", Text(items[2]));

        // Pagination as the API's: limit, order, after.
        var (status, page, _) = await fx.SendAsync(HttpMethod.Get, $"responses/{second.Id}/input_items?limit=2&order=asc");
        Assert.Equal(200, status);
        Assert.True(page.GetProperty("has_more").GetBoolean());
        Assert.Equal(2, page.GetProperty("data").GetArrayLength());
        var (_, rest, _) = await fx.SendAsync(HttpMethod.Get, $"responses/{second.Id}/input_items?order=asc&after={page.GetProperty("last_id").GetString()}");
        Assert.False(rest.GetProperty("has_more").GetBoolean());
        Assert.Equal("input_text", rest.GetProperty("data")[0].GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal(400, (await fx.SendAsync(HttpMethod.Get, $"responses/{second.Id}/input_items?limit=500")).Status);

        // Another tenant: as if it did not exist, on every endpoint.
        var other = fx.Responses(GlobexKey);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => other.GetResponseAsync(second.Id))).Status);
        Assert.Equal(404, (await fx.SendAsync(HttpMethod.Get, $"responses/{second.Id}/input_items", GlobexKey)).Status);
        Assert.Equal(404, (await fx.SendAsync(HttpMethod.Delete, $"responses/{second.Id}", GlobexKey)).Status);
        Assert.Equal(404, (await fx.SendAsync(HttpMethod.Post, $"responses/{second.Id}/cancel", GlobexKey)).Status);
        Assert.Equal(404, (await fx.SendAsync(HttpMethod.Get, $"responses/{second.Id}", OwnKey)).Status);
    }

    [Fact]
    public async Task A_conversation_resent_whole_every_turn_lists_each_responses_whole_input()
    {
        var client = fx.Responses(sessionId: "resent-1");
        var history = new List<ResponseItem>();
        var responses = new List<ResponseResult>();
        for (var turn = 0; turn < 4; turn++)
        {
            history.Add(ResponseItem.CreateUserMessageItem($"turn {turn}"));
            ResponseResult response = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", history) { StoredOutputEnabled = false }).WaitAsync(Patience);
            responses.Add(response);
            history.AddRange(response.OutputItems);
        }

        // Each turn keeps only what followed the previous turn's input in its body (that turn's answer, as the SDK
        // resends it, and its own message), not the history.
        var archive = fx.Gateway.App.Services.GetRequiredService<TenantDirectory>().Find("acme")!.Archive;
        Assert.Equal(2, archive.Get(responses[3].Id)!.KeptItems);

        // Each response's input: every item sent for it, in order (the turns before it, their answers, its own).
        for (var turn = 0; turn < 4; turn++)
        {
            var (status, page, _) = await fx.SendAsync(HttpMethod.Get, $"responses/{responses[turn].Id}/input_items?order=asc&limit=100");
            Assert.Equal(200, status);
            var texts = page.GetProperty("data").EnumerateArray().Select(i => i.GetProperty("content")[0].GetProperty("text").GetString()).ToList();
            var expected = new List<string?>();
            for (var before = 0; before <= turn; before++)
            {
                expected.Add($"turn {before}");
                if (before < turn)
                {
                    expected.Add(responses[before].GetOutputText());
                }
            }

            Assert.Equal(expected, texts);
        }
    }

    [Fact]
    public async Task A_running_streamed_turn_is_cancelled_and_its_stream_ends_as_cancelled()
    {
        fx.Sim.Faults.Stall(TimeSpan.FromMinutes(5));
        var client = fx.Responses(sessionId: "cancel-1");
        string? id = null;
        ResponseResult? cancelled = null;
        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in (await client.CreateResponseStreamingAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("take your time")]) { StreamingEnabled = true })).WithCancellation(default))
        {
            updates.Add(update);
            if (update is StreamingResponseCreatedUpdate created)
            {
                id = created.Response.Id;
                Assert.Equal(404, (await fx.SendAsync(HttpMethod.Post, $"responses/{id}/cancel", GlobexKey)).Status);
                Assert.Equal(ResponseStatus.InProgress, (await fx.Responses().GetResponseAsync(id).WaitAsync(Patience)).Value.Status);
                cancelled = await fx.Responses().CancelResponseAsync(id).WaitAsync(Patience);
            }
        }

        Assert.NotNull(id);
        Assert.Equal(ResponseStatus.Cancelled, cancelled!.Status);
        var error = Assert.IsType<StreamingResponseErrorUpdate>(updates[^1]);
        Assert.Equal("response_cancelled", error.Code);
        Assert.DoesNotContain(updates, u => u is StreamingResponseCompletedUpdate);

        Assert.Equal(ResponseStatus.Cancelled, (await fx.Responses().GetResponseAsync(id).WaitAsync(Patience)).Value.Status);
        Assert.Equal(ResponseStatus.Cancelled, (await fx.Responses().CancelResponseAsync(id).WaitAsync(Patience)).Value.Status);

        // The session goes on: the next turn completes.
        ResponseResult next = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("now quickly")])).WaitAsync(Patience);
        Assert.Equal(ResponseStatus.Completed, next.Status);
        var (status, body, _) = await fx.SendAsync(HttpMethod.Post, $"responses/{next.Id}/cancel");
        Assert.Equal(400, status);
        Assert.Contains("'completed'", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_response_can_no_longer_be_read_or_chained_from_and_a_stored_one_is_deleted_upstream_too()
    {
        var client = fx.Responses();
        ResponseResult notStored = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("forget me")]) { StoredOutputEnabled = false }).WaitAsync(Patience);
        ResponseResult stored = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("keep me upstream")])).WaitAsync(Patience);
        Assert.Equal(200, (await fx.UpstreamAsync(HttpMethod.Get, "responses/" + stored.Id)).Status);

        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => fx.Responses(GlobexKey).DeleteResponseAsync(stored.Id))).Status);
        foreach (var id in new[] { notStored.Id, stored.Id })
        {
            ResponseDeletionResult deleted = await client.DeleteResponseAsync(id).WaitAsync(Patience);
            Assert.True(deleted.Deleted);
            Assert.Equal(id, deleted.ResponseId);
            Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(id))).Status);
            var (status, body, _) = await fx.SendAsync(HttpMethod.Post, "responses", json: $$"""{"model":"sim-model","input":"more","previous_response_id":"{{id}}"}""");
            Assert.Equal(400, status);
            Assert.Equal("previous_response_not_found", body.GetProperty("error").GetProperty("code").GetString());
        }

        Assert.Equal(404, (await fx.UpstreamAsync(HttpMethod.Get, "responses/" + stored.Id)).Status);
    }

    [Fact]
    public async Task Input_tokens_are_counted_upstream_and_a_previous_response_of_another_tenant_is_refused()
    {
        var client = fx.Responses();
        var counted = await client.GetInputTokenCountAsync(BinaryContent.Create(BinaryData.FromString("""{"model":"sim-model","input":"Tell me a joke about actors."}""")), "application/json").WaitAsync(Patience);
        var body = JsonDocument.Parse(counted.GetRawResponse().Content).RootElement;
        Assert.Equal("response.input_tokens", body.GetProperty("object").GetString());
        Assert.True(body.GetProperty("input_tokens").GetInt32() > 0);

        ResponseResult theirs = await fx.Responses(GlobexKey).CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("globex only")])).WaitAsync(Patience);
        var (status, error, _) = await fx.SendAsync(HttpMethod.Post, "responses/input_tokens", json: $$"""{"model":"sim-model","input":"x","previous_response_id":"{{theirs.Id}}"}""");
        Assert.Equal(400, status);
        Assert.Equal("previous_response_not_found", error.GetProperty("error").GetProperty("code").GetString());

        // Its owner may count from it (the upstream stored it).
        var (ownStatus, own, _) = await fx.SendAsync(HttpMethod.Post, "responses/input_tokens", GlobexKey, json: $$"""{"model":"sim-model","input":"x","previous_response_id":"{{theirs.Id}}"}""");
        Assert.Equal(200, ownStatus);
        Assert.True(own.GetProperty("input_tokens").GetInt32() > body.GetProperty("input_tokens").GetInt32() / 4);
    }

    [Fact]
    public async Task A_conversation_is_compacted_through_the_gateway()
    {
        var result = await fx.Responses().CompactResponseAsync(BinaryContent.Create(BinaryData.FromString(
            """{"model":"sim-model","input":[{"role":"user","content":"Plan the launch."},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Here is a plan."}]}]}""")), "application/json").WaitAsync(Patience);
        var body = JsonDocument.Parse(result.GetRawResponse().Content).RootElement;
        Assert.Equal("response.compaction", body.GetProperty("object").GetString());
        var output = body.GetProperty("output").EnumerateArray().ToList();
        Assert.Equal("compaction", output[^1].GetProperty("type").GetString());
        Assert.Equal("Plan the launch.", output[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_conversation_is_created_and_used_by_its_tenant_and_unknown_to_the_others()
    {
        var conversations = fx.Conversations();
        var created = await conversations.CreateConversationAsync(BinaryContent.Create(BinaryData.FromString(
            """{"metadata":{"topic":"launch"},"items":[{"type":"message","role":"user","content":"first"}]}"""))).WaitAsync(Patience);
        var id = JsonDocument.Parse(created.GetRawResponse().Content).RootElement.GetProperty("id").GetString()!;
        Assert.StartsWith("conv_", id, StringComparison.Ordinal);

        await conversations.CreateConversationItemsAsync(id, BinaryContent.Create(BinaryData.FromString(
            """{"items":[{"type":"message","role":"assistant","content":"second"}]}"""))).WaitAsync(Patience);
        var (status, items, _) = await fx.SendAsync(HttpMethod.Get, $"conversations/{id}/items?order=asc");
        Assert.Equal(200, status);
        Assert.Equal(["first", "second"], items.GetProperty("data").EnumerateArray().Select(i => i.GetProperty("content")[0].GetProperty("text").GetString() ?? string.Empty).ToArray());
        var read = await conversations.GetConversationAsync(id).WaitAsync(Patience);
        Assert.Equal("launch", read.Value.Metadata["topic"]);

        // Every other tenant: 404 on the conversation, its items, an update and a delete; nothing reaches the upstream.
        var others = fx.Conversations(GlobexKey);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => others.GetConversationAsync(id))).Status);
        foreach (var (method, path) in new[] { (HttpMethod.Get, $"conversations/{id}/items"), (HttpMethod.Post, $"conversations/{id}"), (HttpMethod.Delete, $"conversations/{id}") })
        {
            Assert.Equal(404, (await fx.SendAsync(method, path, GlobexKey, method == HttpMethod.Post ? """{"metadata":{"x":"y"}}""" : null)).Status);
        }

        var (inputStatus, _, _) = await fx.SendAsync(HttpMethod.Post, "responses/input_tokens", GlobexKey, json: $$"""{"model":"sim-model","input":"x","conversation":"{{id}}"}""");
        Assert.Equal(404, inputStatus);

        // Nor may another tenant's turn name it.
        var turnsBefore = fx.Sim.Counters.ResponseCreateFrames + fx.Sim.Counters.HttpPosts;
        var (turnStatus, turnError, _) = await fx.SendAsync(HttpMethod.Post, "responses", GlobexKey, json: $$$"""{"model":"sim-model","input":"x","conversation":{"id":"{{{id}}}"}}""");
        Assert.Equal(404, turnStatus);
        Assert.Equal("conversation", turnError.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(turnsBefore, fx.Sim.Counters.ResponseCreateFrames + fx.Sim.Counters.HttpPosts);

        var deleted = await conversations.DeleteConversationAsync(id).WaitAsync(Patience);
        Assert.True(deleted.Value.Deleted);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => conversations.GetConversationAsync(id))).Status);
    }

    [Fact]
    public async Task A_tenant_on_the_shared_key_reaches_only_its_own_ids_and_listed_paths_one_with_its_own_key_everything()
    {
        // A response stored upstream that no tenant produced through the gateway.
        var (_, direct, _) = await fx.UpstreamAsync(HttpMethod.Post, "responses", json: """{"model":"sim-model","input":"made elsewhere"}""");
        var foreign = direct.GetProperty("id").GetString()!;
        Assert.Equal(404, (await fx.SendAsync(HttpMethod.Get, "responses/" + foreign)).Status);

        // The own-key tenant's account is its own: what it stored there directly it reads through the gateway.
        var (_, ownDirect, _) = await fx.UpstreamAsync(HttpMethod.Post, "responses", OwnUpstreamKey, json: """{"model":"sim-model","input":"mine"}""");
        var (ownStatus, ownBody, _) = await fx.SendAsync(HttpMethod.Get, "responses/" + ownDirect.GetProperty("id").GetString(), OwnKey);
        Assert.Equal(200, ownStatus);
        Assert.Equal("completed", ownBody.GetProperty("status").GetString());

        // Paths outside the shared list stay closed on the shared key, and go through on an own key.
        var (closed, closedBody, _) = await fx.SendAsync(HttpMethod.Get, "files");
        Assert.Equal(404, closed);
        Assert.Contains("SharedPassThrough", closedBody.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var calls = fx.Sim.Counters.ApiCalls;
        var (open, openBody, _) = await fx.SendAsync(HttpMethod.Get, "files", OwnKey);
        Assert.Equal(404, open);
        Assert.Equal("Invalid URL (GET /v1/files)", openBody.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(calls + 1, fx.Sim.Counters.ApiCalls);
    }

    [Fact]
    public async Task Requests_passed_through_count_against_the_tenants_limits()
    {
        Assert.Equal(200, (await fx.SendAsync(HttpMethod.Get, "models/gpt-4o", LimitedKey)).Status);
        Assert.Equal(200, (await fx.SendAsync(HttpMethod.Get, "models/gpt-4o", LimitedKey)).Status);
        var (status, body, response) = await fx.SendAsync(HttpMethod.Get, "models/gpt-4o", LimitedKey);
        Assert.Equal(429, status);
        Assert.Equal("rate_limit_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.True(response.Headers.RetryAfter is not null);
    }

    [Fact]
    public async Task A_background_request_is_refused_with_a_400_naming_the_parameter()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => fx.Responses().CreateResponseAsync(
            new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("later")]) { BackgroundModeEnabled = true }));
        Assert.Equal(400, error.Status);
        Assert.Contains("background", error.Message, StringComparison.Ordinal);
    }

    internal static string? Text(ResponseItem item) => item switch
    {
        MessageResponseItem message => string.Concat(message.Content.Select(c => c.Text)),
        _ => null,
    };
}
