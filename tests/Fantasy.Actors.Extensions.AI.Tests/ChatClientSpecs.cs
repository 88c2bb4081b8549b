using System.ClientModel;
using Fantasy.Actors.Api;
using Microsoft.Extensions.AI;
using OpenAI.Responses;

namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary><see cref="ResponsesSessionChatClient"/> against the simulator, alone and under MEAI's function invocation.</summary>
public sealed class ChatClientSpecs : SimulatedSessions
{
    private static AIFunction[] Tools(List<string> calls) =>
    [
        // The simulator's calls carry {"index": i, "of": n}.
        AIFunctionFactory.Create((int index, int of) => { calls.Add("lookup"); return $"found {index + 1} of {of}"; }, "lookup", "Looks something up."),
        AIFunctionFactory.Create((int index, int of) => { calls.Add("weather"); return "sunny"; }, "weather", "The weather."),
    ];

    /// <summary>Ten rounds of a tool loop through <paramref name="inner"/>; each round's final text and the tool calls made.</summary>
    private static async Task<(List<string> Texts, List<string> Calls, List<UsageDetails?> Usage)> ToolLoopAsync(IChatClient inner, bool streaming, bool continueByConversationId)
    {
        var calls = new List<string>();
        using var client = new ChatClientBuilder(inner).UseFunctionInvocation().Build();
        var options = new ChatOptions { ModelId = "m", Instructions = "be brief", Tools = [.. Tools(calls)] };
        var history = new List<ChatMessage>();
        var texts = new List<string>();
        var usage = new List<UsageDetails?>();
        for (var round = 0; round < 10; round++)
        {
            var user = new ChatMessage(ChatRole.User, $"round {round}: CALL {(round % 2 == 0 ? "lookup" : "weather")} 1");
            history.Add(user);
            var messages = continueByConversationId && options.ConversationId is not null ? [user] : history;
            ChatResponse response;
            if (streaming)
            {
                response = await client.GetStreamingResponseAsync(messages, options).ToChatResponseAsync().WaitAsync(Patience);
            }
            else
            {
                response = await client.GetResponseAsync(messages, options).WaitAsync(Patience);
            }

            if (continueByConversationId)
            {
                Assert.NotNull(response.ConversationId);
                options.ConversationId = response.ConversationId;
            }

            history.AddRange(response.Messages);
            texts.Add(response.Text);
            usage.Add(response.Usage);
        }

        return (texts, calls, usage);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_function_invoking_tool_loop_of_ten_rounds_goes_upstream_as_deltas_on_one_socket(bool streaming)
    {
        var (texts, calls, usage) = await ToolLoopAsync(Sessions.AsChatClient(new ResponsesSessionChatClientOptions { Tenant = "t" }), streaming, continueByConversationId: true);

        // Every round: the model called the round's tool once, the tool ran, the model answered with its result.
        Assert.Equal(Enumerable.Range(0, 10).Select(r => r % 2 == 0 ? "lookup" : "weather"), calls);
        Assert.All(texts, t => Assert.StartsWith("tool results received: 1. ok: ", t, StringComparison.Ordinal));
        Assert.All(usage, u => Assert.True(u?.TotalTokenCount > 0));

        // Twenty model calls (a call and an answer per round) on one socket; all but the first are deltas.
        Assert.Equal(1, Sim.Counters.ConnectionsOpened);
        Assert.Equal(20, Sim.Counters.ResponseCreateFrames);
        Assert.Equal(19, Sim.Counters.ChainedRequests);

        // ok: N counts the context the server holds before the last answer: 10 rounds × (user, call, result) and the
        // 9 earlier answers — nothing lost, nothing sent twice.
        Assert.EndsWith("ok: 39", texts[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_loop_gives_the_same_texts_calls_and_usage_as_MEAIs_own_Responses_client_over_HTTP()
    {
        var ours = await ToolLoopAsync(Sessions.AsChatClient(), streaming: true, continueByConversationId: true);
        var http = new ResponsesClient(new ApiKeyCredential("sk-test"), new ResponsesClientOptions { Endpoint = Sim.BaseUrl }).AsIChatClient("m");
        var theirs = await ToolLoopAsync(http, streaming: true, continueByConversationId: false);

        Assert.Equal(theirs.Calls, ours.Calls);
        Assert.Equal(theirs.Texts, ours.Texts);
        Assert.Equal(theirs.Usage.Select(u => (u?.InputTokenCount, u?.OutputTokenCount)), ours.Usage.Select(u => (u?.InputTokenCount, u?.OutputTokenCount)));
    }

    [Fact]
    public async Task A_caller_without_a_conversation_id_sends_its_whole_history_and_gets_one_back()
    {
        var client = Sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" });
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.System, "be brief"), new ChatMessage(ChatRole.User, "hello")]).WaitAsync(Patience);

        Assert.Equal("ok: 2", response.Text);
        Assert.StartsWith("chat-", response.ConversationId, StringComparison.Ordinal);
        Assert.StartsWith("resp_", response.ResponseId, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        var metadata = client.GetService<ChatClientMetadata>();
        Assert.Equal(("openai", "m"), (metadata!.ProviderName, metadata.DefaultModelId));
        Assert.Same(Sessions, client.GetService<IResponsesSessions>());
    }

    [Fact]
    public async Task A_failed_turn_surfaces_as_an_exception_with_its_reason()
    {
        var client = Sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "please FAIL")]).WaitAsync(Patience));
        Assert.Contains("Failed", ex.Message, StringComparison.Ordinal);
    }
}
