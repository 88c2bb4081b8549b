using System.ClientModel;
using OpenAI.Responses;
using static Fantasy.Actors.Host.Tests.ApiSurfaceFixture;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// A client chaining <c>store:false</c> responses itself with <c>previous_response_id</c>, as an SDK does when only its
/// base URL points at the gateway: the upstream holds such a response only on the connection that produced it, so the
/// gateway sends the context it kept instead — for one-off turns (no <c>X-Session-Id</c>) and for a session branching
/// from an earlier response of its own.
/// </summary>
[Collection(ApiSurfaceGroup.Name)]
public sealed class ChainByIdSpecs(ApiSurfaceFixture fx)
{
    private static CreateResponseOptions Turn(string text, string? previous) =>
        new("sim-model", [ResponseItem.CreateUserMessageItem(text)]) { StoredOutputEnabled = false, PreviousResponseId = previous };

    [Fact]
    public async Task One_off_turns_chain_store_false_responses_by_id()
    {
        var client = fx.Responses(); // no X-Session-Id: every call is a one-off session on a fresh connection
        ResponseResult first = await client.CreateResponseAsync(Turn("hello", null)).WaitAsync(Patience);
        ResponseResult second = await client.CreateResponseAsync(Turn("again", first.Id)).WaitAsync(Patience);
        ResponseResult third = await client.CreateResponseAsync(Turn("and again", second.Id)).WaitAsync(Patience);

        // The upstream answered from the whole conversation: 1, then 3 (hello, ok, again), then 5 items.
        Assert.Equal("ok: 1", first.GetOutputText());
        Assert.Equal("ok: 3", second.GetOutputText());
        Assert.Equal("ok: 5", third.GetOutputText());
        Assert.Equal(404, (await fx.UpstreamAsync(HttpMethod.Get, "responses/" + second.Id)).Status); // never stored upstream

        // Its input items are the conversation, as the API lists a chained response's.
        var items = new List<ResponseItem>();
        await foreach (var item in client.GetResponseInputItemsAsync(new ResponseItemCollectionOptions(third.Id) { Order = ResponseItemCollectionOrder.Ascending }))
        {
            items.Add(item);
        }

        Assert.Equal(["hello", "ok: 1", "again", "ok: 3", "and again"], items.Select(ApiSurfaceSpecs.Text));

        // Streamed the same way.
        var streamed = new List<string>();
        var streaming = Turn("streamed", third.Id);
        streaming.StreamingEnabled = true;
        await foreach (var update in await client.CreateResponseStreamingAsync(streaming))
        {
            if (update is StreamingResponseOutputTextDoneUpdate done)
            {
                streamed.Add(done.Text);
            }
        }

        Assert.Equal(["ok: 7"], streamed);

        // Still only the tenant's: another one cannot chain from it.
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => fx.Responses(GlobexKey).CreateResponseAsync(Turn("mine?", third.Id)));
        Assert.Equal(400, refused.Status);
        Assert.Contains("previous_response_not_found", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_branches_from_an_earlier_store_false_response_of_its_own()
    {
        var client = fx.Responses(sessionId: "branch-1");
        ResponseResult a = await client.CreateResponseAsync(Turn("one", null)).WaitAsync(Patience);
        ResponseResult b = await client.CreateResponseAsync(Turn("two", a.Id)).WaitAsync(Patience);
        ResponseResult c = await client.CreateResponseAsync(Turn("three", b.Id)).WaitAsync(Patience);
        Assert.Equal("ok: 5", c.GetOutputText());

        // Regenerating the second turn: chained from the first response, not the last; the connection no longer holds it.
        ResponseResult branch = await client.CreateResponseAsync(Turn("two, differently", a.Id)).WaitAsync(Patience);
        Assert.Equal("ok: 3", branch.GetOutputText());

        // And the branch goes on from there.
        ResponseResult next = await client.CreateResponseAsync(Turn("four", branch.Id)).WaitAsync(Patience);
        Assert.Equal("ok: 5", next.GetOutputText());

        // A one-off turn may continue the session's response as well (the same tenant's conversation).
        ResponseResult oneOff = await fx.Responses().CreateResponseAsync(Turn("five", next.Id)).WaitAsync(Patience);
        Assert.Equal("ok: 7", oneOff.GetOutputText());
    }
}
