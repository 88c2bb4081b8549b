using System.ClientModel;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
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

    /// <summary>Waits (without sleeping) until the simulator has received <paramref name="count"/> turn requests.</summary>
    private async Task RequestsArrivedAsync(long count)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Sim.Counters.ResponseCreateFrames < count)
        {
            Assert.True(clock.Elapsed < Patience, $"only {Sim.Counters.ResponseCreateFrames} of {count} requests arrived");
            await Task.Yield();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_call_cancelled_by_its_caller_throws_OperationCanceledException_and_frees_the_conversation(bool streaming)
    {
        var client = Sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" });
        var options = new ChatOptions { ConversationId = "cancelled-" + streaming };
        var first = await client.GetResponseAsync("hello", options).WaitAsync(Patience);

        // The next call stalls upstream after response.created; its caller gives up while it runs.
        Sim.Faults.Stall(TimeSpan.FromSeconds(20));
        using var cts = new CancellationTokenSource();
        Task call = streaming
            ? Task.Run(async () =>
            {
                await foreach (var _ in client.GetStreamingResponseAsync("wait for me", options, cts.Token))
                {
                }
            })
            : client.GetResponseAsync("wait for me", options, cts.Token);
        await RequestsArrivedAsync(2);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Patience));

        // The conversation is free at once (not behind a stalled turn) and still chains from its last completed response.
        var next = await client.GetResponseAsync("after the cancel", options).WaitAsync(Patience);
        Assert.Equal(options.ConversationId, next.ConversationId);
        Assert.NotEqual(first.ResponseId, next.ResponseId);
        // Over a new socket (the cancelled turn's was discarded), so as the whole context: the first exchange and the
        // new message, and nothing of the cancelled call.
        var body = Sim.Counters.LastRequests[^1].Body;
        Assert.Contains("\"hello\"", body, StringComparison.Ordinal);
        Assert.Contains("\"after the cancel\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("wait for me", body, StringComparison.Ordinal);
        Assert.Equal("ok: 3", next.Text); // the simulator counts the context items: hello, its answer, the new message
    }

    [Fact]
    public async Task A_stream_its_caller_leaves_early_cancels_the_turn_and_frees_the_conversation()
    {
        var client = Sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" });
        var options = new ChatOptions { ConversationId = "left-early" };
        var opened = Sim.Counters.ConnectionsOpened;

        // Thousands of deltas: far more than the consumer window lets the session take without its reader.
        await foreach (var update in client.GetStreamingResponseAsync("LONG 2000", options).WithCancellation(CancellationToken.None))
        {
            Assert.Equal("left-early", update.ConversationId);
            break; // the caller has seen enough
        }

        var status = await Sessions.GetStatusAsync(new SessionKey("default", "left-early")).WaitAsync(Patience);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (status is { Busy: true } && clock.Elapsed < Patience)
        {
            await Task.Yield();
            status = await Sessions.GetStatusAsync(new SessionKey("default", "left-early")).WaitAsync(Patience);
        }

        Assert.False(status!.Busy);
        var next = await client.GetResponseAsync("again", options).WaitAsync(Patience);
        Assert.Equal(ChatFinishReason.Stop, next.FinishReason);

        // The abandoned turn was cancelled, not finished in the background: its socket was discarded mid-turn and the
        // next call opened another.
        Assert.Equal(opened + 2, Sim.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task A_call_whose_session_is_closed_under_it_throws_with_the_reason_instead_of_answering_nothing()
    {
        var client = Sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" });
        var options = new ChatOptions { ConversationId = "closed-under" };
        Sim.Faults.Stall(TimeSpan.FromSeconds(20));
        var before = Sim.Counters.ResponseCreateFrames;
        var call = client.GetResponseAsync("wait for me", options);
        await RequestsArrivedAsync(before + 1);
        Assert.True(await Sessions.CloseAsync(new SessionKey("default", "closed-under")).WaitAsync(Patience));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => call.WaitAsync(Patience));
        Assert.Contains("the session stopped while the turn was running", ex.Message, StringComparison.Ordinal);
        Assert.Equal("Failed", ex.Data["outcome"]);
        Assert.Equal(true, ex.Data["retryable"]);
    }
}
