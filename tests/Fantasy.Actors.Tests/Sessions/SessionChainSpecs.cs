using System.Text.Json;
using System.Threading.Channels;
using CsCheck;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>The session's chain and queue as plain types, without actors.</summary>
public sealed class SessionChainSpecs
{
    private enum Step
    {
        Completed,
        Failed,
        Interrupted,
        CompletedOverHttp,
        NewConnection,
    }

    private static SessionProtocol.SubmitTurn Submit(IReadOnlyList<JsonElement> items, string id = "t") =>
        new(new SessionKey("t", "c"), id, Request(items), TurnOptions.Default, new ChannelTurnOutput(Channel.CreateUnbounded<TurnEvent>().Writer));

    private static string Text(IEnumerable<JsonElement> items) => string.Join("\n", items.Select(i => i.GetRawText()));

    /// <summary>
    /// After any sequence of completed, failed, interrupted and HTTP turns and new connections, the context the
    /// server sees for the next request — the cached response's context plus the new items when it is chained,
    /// the input itself when it is not — equals the caller's whole conversation, and a chained request only ever
    /// names a response cached on the same connection.
    /// </summary>
    [Fact]
    public void The_next_requests_full_context_always_equals_the_callers()
    {
        Gen.Enum<Step>().Array[1, 40].Sample(steps =>
        {
            var chain = new SessionChain(maxTranscriptItems: 10_000);
            var caller = new List<JsonElement>();
            var server = new Dictionary<string, (long Epoch, List<JsonElement> Context)>();
            long epoch = 1;
            var n = 0;
            foreach (var step in steps)
            {
                if (step == Step.NewConnection)
                {
                    epoch++;
                    chain.Break();
                    continue;
                }

                caller.Add(User($"turn {n}"));
                var submit = Submit([.. caller]);
                var overHttp = step == Step.CompletedOverHttp;
                var (plan, fullInput) = chain.Plan(submit, overHttp ? SessionChain.NoConnection : epoch, forceFresh: overHttp);
                List<JsonElement> context;
                if (plan is ChainPlan.Continue c)
                {
                    Assert.False(overHttp);
                    Assert.True(server.TryGetValue(c.PreviousResponseId, out var cached), "chained to a response the server never completed");
                    Assert.Equal(epoch, cached.Epoch); // the server's cache is per connection
                    context = [.. cached.Context, .. c.Input];
                }
                else
                {
                    context = [.. plan.Input];
                }

                Assert.Equal(Text(caller), Text(context));
                Assert.Equal(Text(caller), Text(fullInput!));
                chain.WentOut(plan, overHttp);

                var id = $"resp_{n++}";
                var output = J($$"""{"type":"message","role":"assistant","content":[{"type":"output_text","text":"{{id}}"}]}""");
                var status = step is Step.Completed or Step.CompletedOverHttp ? TurnStatus.Completed : TurnStatus.Failed;
                var result = new TurnResult { ResponseId = id, Status = status, Output = status == TurnStatus.Completed ? [new OutputItem(output)] : [] };
                if (step == Step.Interrupted)
                {
                    chain.Break();
                    continue;
                }

                chain.Ended(overHttp ? SessionChain.NoConnection : epoch, submit.Request, fullInput, result);
                if (status == TurnStatus.Completed)
                {
                    server[id] = (overHttp ? -1 : epoch, [.. context, output]);
                    caller.Add(output);
                }
            }
        });
    }

    [Fact]
    public void A_completed_turn_on_the_same_connection_is_continued_and_a_new_connection_sends_the_full_input()
    {
        var chain = new SessionChain(maxTranscriptItems: 100);
        List<JsonElement> caller = [User("one")];
        var (first, _) = chain.Plan(Submit(caller), epoch: 1, forceFresh: false);
        Assert.IsType<ChainPlan.Fresh>(first);
        var output = J("""{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]}""");
        chain.Ended(1, Submit(caller).Request, caller, new TurnResult { ResponseId = "resp_1", Status = TurnStatus.Completed, Output = [new OutputItem(output)] });
        caller = [.. caller, output, User("two")];

        var (second, _) = chain.Plan(Submit(caller), epoch: 1, forceFresh: false);
        var continued = Assert.IsType<ChainPlan.Continue>(second);
        Assert.Equal("resp_1", continued.PreviousResponseId);
        Assert.Single(continued.Input);

        var (onNew, _) = chain.Plan(Submit(caller), epoch: 2, forceFresh: false);
        Assert.Equal(3, Assert.IsType<ChainPlan.Fresh>(onNew).Input.Count);
        Assert.NotNull(chain.PrimingRequest());
        Assert.Equal(2, chain.PrimingRequest()!.Input.Count);
    }

    [Fact]
    public void A_transcript_over_its_bound_is_not_kept()
    {
        var chain = new SessionChain(maxTranscriptItems: 2);
        List<JsonElement> caller = [User("one"), User("two")];
        var output = J("""{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]}""");
        chain.Ended(1, Submit(caller).Request, caller, new TurnResult { ResponseId = "resp_1", Status = TurnStatus.Completed, Output = [new OutputItem(output)] });
        Assert.False(chain.HasTranscript);
        Assert.Null(chain.PrimingRequest());
    }

    [Fact]
    public void The_queue_is_first_in_first_out_bounded_and_a_put_back_turn_goes_first()
    {
        var queue = new TurnQueue(bound: 2);
        var a = new PendingTurn(Submit([], "a"));
        var b = new PendingTurn(Submit([], "b"));
        var replayed = new PendingTurn(Submit([], "r"));
        queue.Add(a);
        queue.Add(b);
        Assert.True(queue.IsFull);
        queue.PutBack(replayed); // already accepted: the bound does not apply
        Assert.Equal(3, queue.Count);

        Assert.Same(replayed, queue.TakeHead());
        Assert.Same(b, queue.Remove("b"));
        Assert.Null(queue.Remove("b"));
        Assert.Equal(["a"], queue.TakeAll().Select(t => t.Id));
        Assert.Null(queue.TakeHead());
        Assert.Equal("queue-a", TurnQueue.TimeoutKey("a"));
    }

    [Fact]
    public async Task A_pending_turn_finishes_once_and_completes_its_channel()
    {
        var channel = Channel.CreateUnbounded<TurnEvent>();
        var turn = new PendingTurn(new SessionProtocol.SubmitTurn(new SessionKey("t", "c"), "t1", Request(User("x")), TurnOptions.Default, new ChannelTurnOutput(channel.Writer)));
        turn.Finish(TurnEnd.Cancelled("first"));
        turn.Finish(TurnEnd.Cancelled("second"));

        var items = new List<TurnEvent>();
        await foreach (var item in channel.Reader.ReadAllAsync())
        {
            items.Add(item);
        }

        Assert.Equal("first", Assert.IsType<TurnFinished>(Assert.Single(items)).End.Reason);
    }
}
