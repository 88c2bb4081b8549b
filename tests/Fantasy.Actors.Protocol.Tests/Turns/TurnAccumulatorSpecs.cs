using System.Text.Json;

namespace Fantasy.Actors.Protocol.Tests.Turns;

public sealed class TurnAccumulatorSpecs
{
    [Fact]
    public void Text_answer_folds_to_completed_stop_with_text_and_usage()
    {
        var r = Vectors.FoldFile("text-answer.jsonl");

        Assert.Equal(TurnStatus.Completed, r.Status);
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Equal("The capital is Paris.", r.Text);
        Assert.Empty(r.FunctionCalls);
        Assert.Empty(r.Sources);
        Assert.Equal(new Usage(27, 0, 0, 6, 0, 33), r.Usage);
        Assert.Equal("resp_0b28f310c208f8b8016aa7c9244b418191b78ddaaff8c443ea", r.ResponseId);
        Assert.Single(r.Output);
        Assert.Equal("message", r.Output[0].Type);
        Assert.Null(r.Error);
        Assert.Equal(13, r.EventCount);
    }

    [Fact]
    public void Parallel_function_calls_give_tool_calls_keyed_by_call_id()
    {
        var r = Vectors.FoldFile("function-calls-parallel.jsonl");

        Assert.Equal(TurnStatus.Completed, r.Status);
        Assert.Equal(FinishReason.ToolCalls, r.FinishReason);
        Assert.Equal(string.Empty, r.Text);
        Assert.Equal(2, r.FunctionCalls.Count);
        Assert.Equal("call_mWT9doIybXzwxD2iF6R94BCC", r.FunctionCalls[0].CallId);
        Assert.Equal("get_weather", r.FunctionCalls[0].Name);
        Assert.Equal("""{"city":"Paris","unit":"celsius"}""", r.FunctionCalls[0].Arguments);
        Assert.StartsWith("fc_", r.FunctionCalls[0].ItemId, StringComparison.Ordinal);
        Assert.Equal("call_xtEVJWIKIBrzDNX8JnKepC5a", r.FunctionCalls[1].CallId);
        Assert.Equal("get_local_time", r.FunctionCalls[1].Name);
        Assert.Equal("""{"timezone":"Europe/Paris"}""", r.FunctionCalls[1].Arguments);
        Assert.Equal(new Usage(412, 0, 0, 61, 0, 473), r.Usage);
    }

    [Fact]
    public void Reasoning_summary_and_call_keep_the_final_encrypted_content()
    {
        var r = Vectors.FoldFile("reasoning-then-call.jsonl");

        Assert.Equal(FinishReason.ToolCalls, r.FinishReason);
        Assert.Equal(2, r.ReasoningSummary.Count);
        Assert.Equal(
            "**Reproducing the failure**\n\nThe user wants to know why `test_fizz_buzz` fails. I should run that test first and read the assertion output.",
            r.ReasoningSummary[0]);
        Assert.Equal("**Running the test**\n\nI'll run `tests/test_fizz_buzz.py` in verbose mode.", r.ReasoningSummary[1]);
        var call = Assert.Single(r.FunctionCalls);
        Assert.Equal("call_6Di1QlgS1g24sunPBNGXHggi", call.CallId);
        Assert.Equal("run_tests", call.Name);
        Assert.Equal("""{"path":"tests/test_fizz_buzz.py","verbose":true}""", call.Arguments);
        Assert.Equal(new Usage(2317, 1920, 0, 236, 192, 2553), r.Usage);

        // The reasoning item in the output is the one from output_item.done, whose blob is the longer one.
        var added = Vectors.Events("reasoning-then-call.jsonl").OfType<OutputItemAdded>().First(e => e.Item.Type == "reasoning");
        var reasoning = r.Output.First(i => i.Type == "reasoning");
        var finalBlob = reasoning.Json.GetProperty("encrypted_content").GetString()!;
        Assert.True(finalBlob.Length > added.Item.Json.GetProperty("encrypted_content").GetString()!.Length);
    }

    [Fact]
    public void Citations_become_sources_and_hosted_tool_calls_are_not_function_calls()
    {
        var r = Vectors.FoldFile("citations.jsonl");

        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Equal(300, r.Text.Length);
        Assert.StartsWith("Under the Acme Returns Policy, unopened items", r.Text, StringComparison.Ordinal);
        Assert.EndsWith("?utm_source=openai)).", r.Text, StringComparison.Ordinal);
        Assert.Equal(2, r.Sources.Count);
        Assert.Equal(new Citation("file_citation", null, null, "file-hewSNQc7pta0VBVVPP4bRc", "acme-returns-policy.pdf", 107, null, null), r.Sources[0]);
        Assert.Equal(
            new Citation("url_citation", "https://europa.eu/youreurope/citizens/consumers/shopping/returns/index_en.htm?utm_source=openai",
                "Returning goods bought online - Your Europe", null, null, null, 189, 299),
            r.Sources[1]);
        Assert.Equal(["reasoning", "file_search_call", "web_search_call", "message"], r.Output.Select(i => i.Type));
        Assert.Empty(r.FunctionCalls);
        Assert.Equal(new Usage(7841, 1024, 0, 213, 64, 8054), r.Usage);
    }

    [Fact]
    public void Refusal_is_kept_apart_from_text()
    {
        var r = Vectors.FoldFile("refusal.jsonl");

        Assert.Equal(TurnStatus.Completed, r.Status);
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Equal("I\u2019m sorry, but I can\u2019t help with that.", r.Refusal);
        Assert.Equal(string.Empty, r.Text);
        Assert.Equal(new Usage(143, 0, 0, 11, 0, 154), r.Usage);
    }

    [Fact]
    public void Failed_response_is_retryable_but_not_replay_safe()
    {
        var r = Vectors.FoldFile("failed.jsonl");

        Assert.Equal(TurnStatus.Failed, r.Status);
        Assert.Equal(FinishReason.Error, r.FinishReason);
        Assert.NotNull(r.Error);
        Assert.Equal("server_error", r.Error.Code);
        Assert.Equal("The model failed to generate a response.", r.Error.Message);
        Assert.Equal(ErrorClass.Retryable, r.Error.Classification);
        Assert.Null(r.Usage);
    }

    [Fact]
    public void Incomplete_for_max_output_tokens_is_length()
    {
        var r = Vectors.FoldFile("incomplete.jsonl");

        Assert.Equal(TurnStatus.Incomplete, r.Status);
        Assert.Equal(FinishReason.Length, r.FinishReason);
        Assert.Equal("max_output_tokens", r.IncompleteReason);
        Assert.Equal("Here are three tips for better sleep:\n\n1. Keep a consistent schedule, going", r.Text);
        Assert.Equal(new Usage(25, 0, 0, 16, 0, 41), r.Usage);
    }

    [Fact]
    public void Incomplete_for_content_filter_is_content_filter()
    {
        var r = Vectors.FoldFile("incomplete-content-filter.jsonl");

        Assert.Equal(TurnStatus.Incomplete, r.Status);
        Assert.Equal(FinishReason.ContentFilter, r.FinishReason);
        Assert.Equal("Here is a summary of the chapter:", r.Text);
        Assert.Equal(new Usage(61, 0, 0, 9, 0, 70), r.Usage);
    }

    [Fact]
    public void Flat_sse_error_then_failed_ends_once_with_the_error_and_partial_text_is_not_a_result()
    {
        var acc = new TurnAccumulator();
        var progress = Vectors.Events("sse-error-flat.jsonl").Select(acc.Apply).ToList();

        // The error inside a created response does not end the turn; response.failed does.
        Assert.Equal(TurnProgress.Ended, progress[^1]);
        Assert.All(progress.Take(progress.Count - 1), p => Assert.Equal(TurnProgress.Running, p));
        var r = acc.ToResult();
        Assert.Equal(TurnStatus.Failed, r.Status);
        Assert.Equal(FinishReason.Error, r.FinishReason);
        Assert.Equal("server_error", r.Error!.Code);
        Assert.StartsWith("An error occurred while processing your request.", r.Error.Message, StringComparison.Ordinal);
        Assert.Contains("req_fefe4be6378216f583744be0c49128d3", r.Error.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorClass.Retryable, r.Error.Classification);
        Assert.False(r.IsSuccess);
    }

    [Fact]
    public void Legacy_response_done_is_mapped_by_its_status()
    {
        var r = Vectors.FoldFile("legacy-response-done.jsonl");

        Assert.Equal(TurnStatus.Completed, r.Status);
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Equal("Hi there!", r.Text);
        Assert.Equal(new Usage(19, 0, 0, 4, 0, 23), r.Usage);
    }

    [Fact]
    public void Unknown_events_are_ignored()
    {
        var events = Vectors.Events("unknown-events.jsonl");
        Assert.Contains(events, e => e is UnknownEvent { EventType: "codex.rate_limits" });
        Assert.Contains(events, e => e is UnknownEvent { EventType: "responsesapi.websocket_timing" });
        Assert.Contains(events, e => e is ResponseQueued);

        var r = Vectors.Fold(events);
        Assert.Equal(TurnStatus.Completed, r.Status);
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Equal("It\u2019s 18 °C and sunny in Paris right now.", r.Text);
        Assert.Equal(["web_search_call", "message"], r.Output.Select(i => i.Type));
        Assert.Empty(r.FunctionCalls);
        Assert.Empty(r.Sources);
        Assert.Equal(new Usage(5120, 4096, 0, 96, 0, 5216), r.Usage);
    }

    [Fact]
    public void Empty_output_on_completion_is_rebuilt_from_item_events()
    {
        var events = Vectors.Events("empty-output-completed.jsonl");
        Assert.Empty(events.OfType<ResponseCompleted>().Single().Response.Output);

        var r = Vectors.Fold(events);
        Assert.Equal(TurnStatus.Completed, r.Status);
        Assert.Equal(FinishReason.ToolCalls, r.FinishReason);
        Assert.Equal(["reasoning", "message", "function_call"], r.Output.Select(i => i.Type));
        Assert.Equal("I\u2019ll run the test suite first.", r.Text);
        var call = Assert.Single(r.FunctionCalls);
        Assert.Equal("call_FHqRcfQ28fWar0bGkDJPWk6D", call.CallId);
        Assert.Equal("shell", call.Name);
        Assert.Equal("""{"command":["dotnet","test","--no-build"],"workdir":"/srv/app","timeout_ms":120000}""", call.Arguments);
        Assert.Equal(new Usage(12480, 11776, 0, 187, 64, 12667), r.Usage);
    }

    [Fact]
    public void Truncated_stream_is_interrupted_never_success()
    {
        var acc = new TurnAccumulator();
        foreach (var e in Vectors.Events("truncated.jsonl"))
        {
            Assert.Equal(TurnProgress.Running, acc.Apply(e));
        }

        Assert.False(acc.IsEnded);
        Assert.True(acc.ResponseStarted);
        var r = acc.ToResult();
        Assert.Equal(TurnStatus.Interrupted, r.Status);
        Assert.False(r.IsSuccess);
        Assert.Null(r.FinishReason);
        Assert.Null(r.Usage);
        Assert.Equal("in_progress", r.ResponseStatus);
        Assert.Equal("Sure. First, open", r.Text);
    }

    [Fact]
    public void Warmup_completes_with_nothing_and_zero_usage()
    {
        var r = Vectors.FoldFile("warmup.jsonl");

        Assert.Equal(TurnStatus.Completed, r.Status);
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Empty(r.Output);
        Assert.Equal(string.Empty, r.Text);
        Assert.Empty(r.FunctionCalls);
        Assert.Equal(Usage.Zero, r.Usage);
        Assert.StartsWith("resp_", r.ResponseId, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ws-error-prnf.jsonl")]
    [InlineData("ws-error-limit.jsonl")]
    public void Request_scoped_error_ends_the_turn_before_any_response(string file)
    {
        var acc = new TurnAccumulator();
        Assert.Equal(TurnProgress.Ended, acc.Apply(Vectors.Events(file).Single()));
        var r = acc.ToResult();
        Assert.Equal(TurnStatus.Failed, r.Status);
        Assert.Equal(ErrorClass.ReplaySafe, r.Error!.Classification);
        Assert.Null(r.ResponseId);
        Assert.False(acc.ResponseStarted);
    }

    [Fact]
    public void Events_after_the_terminal_are_ignored_and_counted()
    {
        var events = Vectors.Events("text-answer.jsonl");
        var acc = new TurnAccumulator();
        foreach (var e in events)
        {
            acc.Apply(e);
        }

        var before = acc.ToResult();
        Assert.Equal(TurnProgress.Ended, acc.Apply(events[5]));
        Assert.Equal(1, acc.IgnoredAfterEnd);
        Assert.Equal(before, acc.ToResult());
    }

    [Fact]
    public void Output_falls_back_to_the_terminal_response_when_no_item_events_came()
    {
        var events = Vectors.Events("function-calls-parallel.jsonl").Where(e => e is not OutputItemDone).ToList();
        var r = Vectors.Fold(events);

        Assert.Equal(2, r.FunctionCalls.Count);
        Assert.Equal(FinishReason.ToolCalls, r.FinishReason);
    }

    public static TheoryData<string> Streams() => new(Vectors.StreamFiles);

    [Theory]
    [MemberData(nameof(Streams))]
    public void The_same_stream_over_websocket_frames_and_over_sse_gives_equal_results(string file)
    {
        var overWebSocket = Vectors.FoldFile(file);
        var overSse = Vectors.FoldSse(Vectors.AsSse(file, withDone: false));
        var overSseWithDone = Vectors.FoldSse(Vectors.AsSse(file, withDone: true));

        Assert.Equal(overWebSocket, overSse);
        Assert.Equal(overWebSocket, overSseWithDone);
    }

    [Fact]
    public void Raw_sse_captures_match_the_websocket_frames()
    {
        var expected = Vectors.FoldFile("text-answer.jsonl");
        Assert.Equal(expected, Vectors.FoldSse(File.ReadAllBytes(Vectors.PathOf("sse-raw.txt"))));
        Assert.Equal(expected, Vectors.FoldSse(File.ReadAllBytes(Vectors.PathOf("sse-raw-done.txt"))));
    }

    [Fact]
    public void Results_differ_when_one_delta_differs()
    {
        var events = Vectors.Events("text-answer.jsonl").ToList();
        var i = events.FindIndex(e => e is OutputTextDelta);
        var changed = events.ToList();
        changed[i] = ((OutputTextDelta)events[i]) with { Delta = "X" };

        Assert.NotEqual(Vectors.Fold(events), Vectors.Fold(changed));
    }

    [Fact]
    public void Output_items_keep_the_servers_json()
    {
        var r = Vectors.FoldFile("text-answer.jsonl");
        var item = r.Output[0];
        Assert.Equal(JsonValueKind.Object, item.Json.ValueKind);
        Assert.Equal("assistant", item.Role);
        Assert.Equal("The capital is Paris.", item.MessageText());
    }
}
