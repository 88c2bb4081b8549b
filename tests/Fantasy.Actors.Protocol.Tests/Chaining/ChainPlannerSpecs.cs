using System.Text.Json;
using CsCheck;

namespace Fantasy.Actors.Protocol.Tests.Chaining;

public sealed class ChainPlannerSpecs
{
    private const long Epoch = 3;

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static JsonElement User(int n) => J($$"""{"type":"message","role":"user","content":"user says {{n}}"}""");

    private static JsonElement ToolResult(int n) => J($$"""{"type":"function_call_output","call_id":"call_{{n}}","output":"result {{n}}"}""");

    private static OutputItem AssistantMessage(int n) => new(J($$"""
        {"id":"msg_{{n}}","type":"message","status":"completed","role":"assistant",
         "content":[{"type":"output_text","text":"answer {{n}}","annotations":[],"logprobs":[]}]}
        """));

    private static OutputItem Call(int n) => new(J($$"""
        {"id":"fc_{{n}}","type":"function_call","status":"completed","call_id":"call_{{n}}","name":"tool","arguments":"{\"i\":{{n}}}"}
        """));

    private static OutputItem Reasoning(int n) => new(J($$"""
        {"id":"rs_{{n}}","type":"reasoning","summary":[],"encrypted_content":"blob{{n}}"}
        """));

    /// <summary>How a caller echoes an output item back: as sent, or in the stripped forms stateless clients use.</summary>
    private static JsonElement Echo(OutputItem item, int style) => (item.Type, style % 3) switch
    {
        (_, 0) => item.Json,
        ("message", 1) => J($$"""{"role":"assistant","content":"{{item.MessageText()}}"}"""),
        ("message", _) => J($$"""{"type":"message","role":"assistant","content":[{"type":"output_text","text":"{{item.MessageText()}}"}]}"""),
        ("function_call", _) => J($$"""{"type":"function_call","call_id":"{{item.CallId}}","name":"{{item.Name}}","arguments":"ignored-by-identity"}"""),
        _ => item.Json,
    };

    private static ResponseRequest Req(IReadOnlyList<JsonElement> input, string model = "m", string? instructions = "be brief") =>
        new() { Model = model, Instructions = instructions, Input = input, Tools = J("""[{"type":"function","name":"tool"}]""") };

    private static ChainState State(IReadOnlyList<JsonElement> input, IReadOnlyList<OutputItem> output, long epoch = Epoch, bool completed = true) =>
        new(epoch, "resp_prev", Req(input).Settings(), input, output, completed);

    // Unique items: user messages and tool results numbered from 0, output items from 1000.
    private static readonly Gen<OutputItem> GenOutputItem =
        Gen.Select(Gen.Int[0, 2], Gen.Int[1000, 1999], (kind, n) => kind switch { 0 => AssistantMessage(n), 1 => Call(n), _ => Reasoning(n) });

    private static readonly Gen<(List<JsonElement> Prev, List<OutputItem> Output, List<int> EchoStyles, List<JsonElement> Appended)> GenChain =
        from prevCount in Gen.Int[0, 8]
        from output in GenOutputItem.List[0, 4]
        from styles in Gen.Int[0, 2].List[4, 4]
        from appendedCount in Gen.Int[0, 5]
        from toolResults in Gen.Bool
        select (
            Enumerable.Range(0, prevCount).Select(User).ToList(),
            output.DistinctBy(o => o.Id).ToList(),
            styles,
            Enumerable.Range(100, appendedCount).Select(n => toolResults ? ToolResult(n) : User(n)).ToList());

    private static List<JsonElement> FullInput(List<JsonElement> prev, List<OutputItem> output, List<int> styles, List<JsonElement> appended) =>
        [.. prev, .. output.Select((o, i) => Echo(o, styles[i])), .. appended];

    [Fact]
    public void Append_only_growth_always_continues_with_exactly_the_appended_items()
    {
        GenChain.Sample(c =>
        {
            var state = State(c.Prev, c.Output);
            var plan = ChainPlanner.Plan(state, Req(FullInput(c.Prev, c.Output, c.EchoStyles, c.Appended)), Epoch);

            var cont = Assert.IsType<ChainPlan.Continue>(plan);
            Assert.Equal("resp_prev", cont.PreviousResponseId);
            Assert.Equal(c.Appended.Count, cont.NewItems.Count);
            Assert.All(c.Appended.Zip(cont.NewItems), p => Assert.True(JsonElement.DeepEquals(p.First, p.Second)));
        }, iter: 2_000);
    }

    [Fact]
    public void Any_edit_removal_or_reorder_of_the_history_is_fresh()
    {
        var gen =
            from c in GenChain
            from op in Gen.Int[0, 2]
            from a in Gen.Double[0, 1]
            from b in Gen.Double[0, 1]
            select (c, op, a, b);

        gen.Sample(t =>
        {
            var (c, op, a, b) = t;
            var input = FullInput(c.Prev, c.Output, c.EchoStyles, c.Appended);
            var prefix = c.Prev.Count + c.Output.Count;
            if (prefix == 0 || (op == 2 && input.Count < 2))
            {
                return; // nothing to edit
            }

            var i = (int)(a * (prefix - 1));
            switch (op)
            {
                case 0:
                    input[i] = User(5000 + i);
                    break;
                case 1:
                    input.RemoveAt(i);
                    break;
                default:
                    var j = (int)(b * (input.Count - 1));
                    if (j == i) j = (i + 1) % input.Count;
                    (input[i], input[j]) = (input[j], input[i]);
                    break;
            }

            var plan = ChainPlanner.Plan(State(c.Prev, c.Output), Req(input), Epoch);
            Assert.Equal(FreshReason.HistoryDiverged, Assert.IsType<ChainPlan.Fresh>(plan).Reason);
            Assert.Same(input, plan.Input);
        }, iter: 2_000);
    }

    [Fact]
    public void Any_non_input_change_is_fresh()
    {
        var gen = from c in GenChain from field in Gen.Int[0, 3] select (c, field);
        gen.Sample(t =>
        {
            var (c, field) = t;
            var input = FullInput(c.Prev, c.Output, c.EchoStyles, c.Appended);
            var request = field switch
            {
                0 => Req(input, model: "other"),
                1 => Req(input, instructions: "be verbose"),
                2 => Req(input) is var r ? new ResponseRequest { Model = r.Model, Instructions = r.Instructions, Tools = r.Tools, Input = input, Temperature = 0.1 } : null!,
                _ => new ResponseRequest { Model = "m", Instructions = "be brief", Input = input, Tools = J("""[{"type":"function","name":"other"}]""") },
            };

            var plan = ChainPlanner.Plan(State(c.Prev, c.Output), request, Epoch);
            Assert.Equal(FreshReason.SettingsChanged, Assert.IsType<ChainPlan.Fresh>(plan).Reason);
        }, iter: 1_000);
    }

    [Fact]
    public void A_continued_delta_never_contains_the_previous_responses_output_items()
    {
        // Inputs assembled from shuffled pools in which every item appears at most once.
        var gen =
            from c in GenChain
            from keepPrefix in Gen.Bool
            from order in Gen.Int.Array[16, 16]
            select (c, keepPrefix, order);

        gen.Sample(t =>
        {
            var (c, keepPrefix, order) = t;
            var echoed = c.Output.Select((o, i) => Echo(o, c.EchoStyles[i])).ToList();
            var pool = c.Prev.Concat(echoed).Concat(c.Appended).ToList();
            var input = keepPrefix
                ? pool
                : pool.Select((item, i) => (item, key: order[i % order.Length] ^ i)).OrderBy(p => p.key).Select(p => p.item).ToList();

            var plan = ChainPlanner.Plan(State(c.Prev, c.Output), Req(input), Epoch);
            if (plan is ChainPlan.Continue cont)
            {
                Assert.DoesNotContain(cont.NewItems, item => c.Output.Any(o => ChainPlanner.IsSameItem(item, o)));
                var rebuilt = c.Prev.Concat(echoed).Concat(cont.NewItems).ToList();
                Assert.Equal(input.Count, rebuilt.Count);
                Assert.All(input.Zip(rebuilt), p => Assert.True(JsonElement.DeepEquals(p.First, p.Second)));
            }
        }, iter: 2_000);
    }

    [Fact]
    public void A_chain_from_another_connection_is_fresh()
    {
        var prev = new List<JsonElement> { User(1) };
        var plan = ChainPlanner.Plan(State(prev, [AssistantMessage(1000)], epoch: 2), Req([User(1), AssistantMessage(1000).Json, User(2)]), Epoch);

        Assert.Equal(FreshReason.OtherConnection, Assert.IsType<ChainPlan.Fresh>(plan).Reason);
    }

    [Fact]
    public void A_chain_whose_last_response_did_not_complete_is_fresh()
    {
        var prev = new List<JsonElement> { User(1) };
        var plan = ChainPlanner.Plan(State(prev, [], completed: false), Req([User(1), User(2)]), Epoch);

        Assert.Equal(FreshReason.PreviousNotCompleted, Assert.IsType<ChainPlan.Fresh>(plan).Reason);
    }

    [Fact]
    public void No_chain_is_fresh_with_the_full_input()
    {
        var input = new List<JsonElement> { User(1), User(2) };
        var plan = ChainPlanner.Plan(null, Req(input), Epoch);

        var fresh = Assert.IsType<ChainPlan.Fresh>(plan);
        Assert.Equal(FreshReason.NoChain, fresh.Reason);
        Assert.Same(input, fresh.FullInput);
    }

    [Fact]
    public void An_explicit_previous_response_id_wins_and_its_input_is_sent_as_is()
    {
        var delta = new List<JsonElement> { ToolResult(7) };
        var state = State([User(1)], [Call(7)]);

        var viaParameter = Assert.IsType<ChainPlan.Continue>(ChainPlanner.Plan(state, Req(delta), Epoch, explicitPreviousResponseId: "resp_caller"));
        var viaBody = Assert.IsType<ChainPlan.Continue>(ChainPlanner.Plan(null,
            new ResponseRequest { Model = "m", Input = delta, PreviousResponseId = "resp_body" }, Epoch));

        Assert.Equal("resp_caller", viaParameter.PreviousResponseId);
        Assert.Same(delta, viaParameter.NewItems);
        Assert.Equal("resp_body", viaBody.PreviousResponseId);
    }

    [Fact]
    public void Reset_forces_fresh_even_with_an_explicit_id()
    {
        var input = new List<JsonElement> { User(1), AssistantMessage(1000).Json, User(2) };
        var plan = ChainPlanner.Plan(State([User(1)], [AssistantMessage(1000)]), Req(input), Epoch, resetChain: true, explicitPreviousResponseId: "resp_x");

        Assert.Equal(FreshReason.ResetRequested, Assert.IsType<ChainPlan.Fresh>(plan).Reason);
    }

    [Fact]
    public void A_turn_after_a_warmup_continues_and_a_repeated_warmup_has_an_empty_delta()
    {
        var history = new List<JsonElement> { User(1), User(2) };
        var afterWarmup = State(history, []);

        var same = Assert.IsType<ChainPlan.Continue>(ChainPlanner.Plan(afterWarmup,
            new ResponseRequest { Model = "m", Instructions = "be brief", Tools = Req([]).Tools, Input = history, Generate = false }, Epoch));
        var next = Assert.IsType<ChainPlan.Continue>(ChainPlanner.Plan(afterWarmup, Req([.. history, User(3)]), Epoch));

        Assert.Empty(same.NewItems);
        Assert.Single(next.NewItems);
    }

    [Fact]
    public void A_function_call_is_recognised_by_call_id_and_a_different_call_id_diverges()
    {
        var state = State([User(1)], [Call(1000)]);
        var good = ChainPlanner.Plan(state, Req([User(1), J("""{"type":"function_call","call_id":"call_1000","name":"tool","arguments":"{}"}"""), ToolResult(1000)]), Epoch);
        var bad = ChainPlanner.Plan(state, Req([User(1), J("""{"type":"function_call","call_id":"call_9","name":"tool","arguments":"{}"}"""), ToolResult(1000)]), Epoch);

        Assert.Single(Assert.IsType<ChainPlan.Continue>(good).NewItems);
        Assert.IsType<ChainPlan.Fresh>(bad);
    }

    [Fact]
    public void An_assistant_message_with_other_text_diverges()
    {
        var state = State([User(1)], [AssistantMessage(1000)]);
        var plan = ChainPlanner.Plan(state, Req([User(1), J("""{"role":"assistant","content":"something else"}"""), User(2)]), Epoch);

        Assert.Equal(FreshReason.HistoryDiverged, Assert.IsType<ChainPlan.Fresh>(plan).Reason);
    }

    [Fact]
    public void A_dropped_reasoning_item_diverges()
    {
        var state = State([User(1)], [Reasoning(1000), Call(1001)]);
        var plan = ChainPlanner.Plan(state, Req([User(1), Call(1001).Json, ToolResult(1001)]), Epoch);

        Assert.IsType<ChainPlan.Fresh>(plan);
    }

    [Fact]
    public void Chain_state_after_a_completed_turn_is_chainable_and_after_a_failed_one_is_not()
    {
        var request = Req([User(1)]);
        var completed = ChainState.After(Epoch, request, request.Input, Vectors.FoldFile("text-answer.jsonl"));
        var failed = ChainState.After(Epoch, request, request.Input, Vectors.FoldFile("failed.jsonl"));

        Assert.True(completed.Completed);
        Assert.Single(completed.Output);
        Assert.False(failed.Completed);

        var next = ChainPlanner.Plan(completed, Req([User(1), completed.Output[0].Json, User(2)]), Epoch);
        Assert.Equal(completed.ResponseId, Assert.IsType<ChainPlan.Continue>(next).PreviousResponseId);
    }
}
