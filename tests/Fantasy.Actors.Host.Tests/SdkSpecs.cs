using System.Text.Json;
using OpenAI.Responses;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The gateway driven by the official OpenAI .NET SDK 2.15.0 — a client nobody here wrote.</summary>
[Collection(GatewayGroup.Name)]
public sealed class SdkSpecs(GatewayFixture fx)
{

    [Fact]
    public async Task A_non_streaming_turn_returns_the_response_object()
    {
        var client = fx.Sdk();
        ResponseResult response = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("hello")])).WaitAsync(Patience);

        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal("ok: 1", response.GetOutputText());
        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal(10, response.Usage.InputTokenCount);
    }

    [Fact]
    public async Task A_streaming_turn_arrives_as_the_sdk_expects()
    {
        var client = fx.Sdk(sessionId: "sdk-stream");
        var kinds = new List<StreamingResponseUpdateKind>();
        var text = string.Empty;
        string? id = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("stream please")]) { StreamingEnabled = true }))
        {
            kinds.Add(update.Kind);
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text += delta.Delta;
                    break;
                case StreamingResponseCompletedUpdate completed:
                    id = completed.Response.Id;
                    break;
            }
        }

        Assert.Equal(StreamingResponseUpdateKind.ResponseCreated, kinds[0]);
        Assert.Equal(StreamingResponseUpdateKind.ResponseCompleted, kinds[^1]);
        Assert.Equal("ok: 1", text);
        Assert.NotNull(id);
    }

    [Fact]
    public async Task A_ten_turn_tool_loop_sending_full_history_goes_upstream_as_deltas()
    {
        var client = fx.Sdk(sessionId: "sdk-tool-loop");
        var history = new List<ResponseItem>();
        var chainedBefore = fx.Sim.Counters.ChainedRequests;
        var freshBefore = fx.Sim.Counters.FreshRequests;
        for (var turn = 1; turn <= 10; turn++)
        {
            history.Add(ResponseItem.CreateUserMessageItem(turn % 2 == 1 ? $"step {turn}: CALL lookup 2" : $"step {turn}"));
            ResponseResult response = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", history)).WaitAsync(Patience);
            Assert.Equal(ResponseStatus.Completed, response.Status);
            history.AddRange(response.OutputItems);
            var calls = response.OutputItems.OfType<FunctionCallResponseItem>().ToList();
            if (turn % 2 == 1)
            {
                Assert.Equal(2, calls.Count);
                history.AddRange(calls.Select(c => ResponseItem.CreateFunctionCallOutputItem(c.CallId, "42")));
            }
            else
            {
                // ok: N is the server-side context: nothing was sent twice.
                Assert.Equal($"ok: {history.Count - response.OutputItems.Count}", response.GetOutputText());
            }
        }

        Assert.Equal(freshBefore + 1, fx.Sim.Counters.FreshRequests);
        Assert.Equal(chainedBefore + 9, fx.Sim.Counters.ChainedRequests);
        var last = JsonDocument.Parse(fx.Sim.Counters.LastRequests[^1].Body).RootElement;
        // Turn 10 sends only what is new since turn 9: the two tool results and the user message.
        Assert.Equal(3, last.GetProperty("input").GetArrayLength());
    }

    [Fact]
    public async Task Client_side_previous_response_id_chaining_works()
    {
        var client = fx.Sdk(sessionId: "sdk-client-chained");
        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("one")]));
        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem("two")]) { PreviousResponseId = first.Id });

        Assert.Equal("ok: 3", second.GetOutputText());
        Assert.Equal(first.Id, JsonDocument.Parse(fx.Sim.Counters.LastRequests[^1].Body).RootElement.GetProperty("previous_response_id").GetString());
    }
}
