using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Simulator.Tests;

public sealed class HttpModeSpecs : IAsyncLifetime
{
    private ResponsesSimulator sim = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        sim = await ResponsesSimulator.StartAsync();
        http = new HttpClient { BaseAddress = new Uri(sim.BaseUrl + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-test");
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await sim.DisposeAsync();
    }

    private Task<HttpResponseMessage> PostAsync(byte[] body) =>
        http.PostAsync("responses", new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } });

    private async Task<(TurnResult Result, List<ServerEvent> Events, HttpResponseMessage Response)> StreamAsync(ResponseRequest request, string? previousResponseId = null)
    {
        var response = await PostAsync(request.ToHttpBody(previousResponseId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var acc = new TurnAccumulator();
        var events = new List<ServerEvent>();
        await foreach (var e in SseEventReader.ReadAsync(await response.Content.ReadAsStreamAsync()))
        {
            events.Add(e);
            acc.Apply(e);
        }

        return (acc.ToResult(), events, response);
    }

    /// <summary>Response and item ids differ per response; everything else must match.</summary>
    private static object Comparable(TurnResult r) => new
    {
        r.Status,
        r.FinishReason,
        r.Text,
        r.Usage,
        r.Refusal,
        r.IncompleteReason,
        Calls = string.Join("|", r.FunctionCalls.Select(c => $"{c.Name}:{c.Arguments}")),
        Output = string.Join("|", r.Output.Select(o => o.Type)),
        Summary = string.Join("|", r.ReasoningSummary),
        Sources = string.Join("|", r.Sources.Select(s => $"{s.Kind}:{s.Url}:{s.StartIndex}-{s.EndIndex}")),
        r.EventCount,
    };

    [Theory]
    [InlineData("hello")]
    [InlineData("CALL search 3")]
    [InlineData("think REASON then CITE")]
    [InlineData("REFUSE please")]
    [InlineData("TRUNCATE this")]
    [InlineData("FAIL now")]
    public async Task Sse_and_websocket_give_the_same_turn_result_for_the_same_request(string text)
    {
        var request = Request(User("first"), User(text));
        var (overHttp, _, _) = await StreamAsync(request);

        await using var client = await SimClient.ConnectAsync(sim);
        var overWebSocket = await client.TurnAsync(request);

        Assert.Equal(Comparable(overWebSocket), Comparable(overHttp));
        Assert.True(overHttp.EventCount >= 3);
    }

    [Fact]
    public async Task The_scripted_keywords_produce_what_they_name()
    {
        var reason = (await StreamAsync(Request(User("REASON")))).Result;
        Assert.Equal(2, reason.ReasoningSummary.Count);
        Assert.Equal(["reasoning", "message"], reason.Output.Select(o => o.Type));
        Assert.Equal(10, reason.Usage!.ReasoningTokens);

        var cite = (await StreamAsync(Request(User("CITE")))).Result;
        var source = Assert.Single(cite.Sources);
        Assert.True(source.IsUrl);
        Assert.Equal("https://example.com/", source.Url);
        Assert.Equal("ok: 1 See example.com.", cite.Text);
        Assert.Equal("example.com.", cite.Text[source.StartIndex!.Value..source.EndIndex!.Value] + ".");

        var refuse = (await StreamAsync(Request(User("REFUSE")))).Result;
        Assert.Equal("I\u2019m sorry, but I can\u2019t help with that.", refuse.Refusal);
        Assert.Equal(string.Empty, refuse.Text);

        var truncated = (await StreamAsync(Request(User("a"), User("b"), User("TRUNCATE")))).Result;
        Assert.Equal(TurnStatus.Incomplete, truncated.Status);
        Assert.Equal(FinishReason.Length, truncated.FinishReason);
        Assert.Equal("ok:", truncated.Text);

        var capped = (await StreamAsync(Request([User("a")], maxOutputTokens: 5))).Result;
        Assert.Equal(TurnStatus.Incomplete, capped.Status);

        var failed = (await StreamAsync(Request(User("FAIL")))).Result;
        Assert.Equal(TurnStatus.Failed, failed.Status);
        Assert.Equal("server_error", failed.Error!.Code);
        Assert.Null(failed.Usage);
    }

    [Fact]
    public async Task Sse_events_are_named_by_their_type_and_can_end_with_done()
    {
        await using var withDone = await ResponsesSimulator.StartAsync(new SimulatorOptions { SseDone = true });
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-test");
        using var response = await client.PostAsync(new Uri(withDone.BaseUrl + "/responses"),
            new ByteArrayContent(Request(User("a")).ToHttpBody()));
        var body = await response.Content.ReadAsStringAsync();

        Assert.StartsWith("event: response.created\ndata: {\"type\":\"response.created\"", body, StringComparison.Ordinal);
        Assert.EndsWith("event: response.completed\ndata: ", body[..body.LastIndexOf("{\"type\":\"response.completed\"", StringComparison.Ordinal)], StringComparison.Ordinal);
        Assert.EndsWith("\n\ndata: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_stream_the_reply_is_the_response_object()
    {
        var request = new ResponseRequest { Model = "sim-model", Input = [User("CALL f 1")] };
        using var response = await PostAsync(request.ToHttpBody(stream: false));
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);

        var snapshot = ResponseSnapshot.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("completed", snapshot.Status);
        var call = Assert.Single(snapshot.Output);
        Assert.Equal("function_call", call.Type);
        Assert.Equal(new Usage(10, 0, 0, 10, 0, 20), snapshot.Usage);
    }

    [Fact]
    public async Task Replies_carry_a_request_id_and_rate_limit_headers()
    {
        var (_, _, response) = await StreamAsync(Request(User("a")));

        Assert.StartsWith("req_", response.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
        Assert.NotEmpty(response.Headers.GetValues("x-ratelimit-remaining-tokens"));
    }

    [Fact]
    public async Task A_previous_response_id_over_http_resolves_only_from_the_store()
    {
        var stored = (await StreamAsync(Request([User("a")], store: true))).Result;
        var chained = (await StreamAsync(Request([User("b")], store: true), stored.ResponseId)).Result;
        Assert.Equal("ok: 3", chained.Text);

        var unstored = (await StreamAsync(Request([User("c")], store: false))).Result;
        using var missing = await PostAsync(Request([User("d")], store: false).ToHttpBody(unstored.ResponseId));
        var error = UpstreamError.FromHttpResponse((int)missing.StatusCode, null, await missing.Content.ReadAsByteArrayAsync());
        Assert.Equal(400, error.Status);
        Assert.Equal(UpstreamError.PreviousResponseNotFound, error.Code);
        Assert.Equal("previous_response_id", error.Param);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Injected_http_errors_carry_their_retry_headers(int status)
    {
        sim.Faults.FailHttpPosts(new HttpFault(status, RetryAfter: TimeSpan.FromSeconds(2), RetryAfterMs: TimeSpan.FromMilliseconds(1146), ShouldRetry: true));
        using var response = await PostAsync(Request(User("a")).ToHttpBody());

        Assert.Equal(status, (int)response.StatusCode);
        var headers = response.Headers.Select(h => new KeyValuePair<string, string>(h.Key, string.Join(",", h.Value))).ToList();
        var error = UpstreamError.FromHttpResponse(status, headers, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(ErrorClass.Retryable, error.Classification);
        Assert.Equal(TimeSpan.FromMilliseconds(1146), error.RetryAfter);
        Assert.True(error.ShouldRetryHeader);
        Assert.False(string.IsNullOrEmpty(error.Code));

        // One failure was asked for; the next post succeeds.
        Assert.Equal(TurnStatus.Completed, (await StreamAsync(Request(User("b")))).Result.Status);
    }

    [Fact]
    public async Task The_http_error_body_is_pretty_printed_in_the_documented_key_order()
    {
        sim.Faults.FailHttpPosts(new HttpFault(429, Code: "insufficient_quota", Message: "You exceeded your current quota.", Type: "insufficient_quota"));
        using var response = await PostAsync(Request(User("a")).ToHttpBody());
        var body = await response.Content.ReadAsStringAsync();

        using var doc = JsonDocument.Parse(body);
        Assert.Equal(["message", "type", "param", "code"], doc.RootElement.GetProperty("error").EnumerateObject().Select(p => p.Name));
        Assert.EndsWith("}\n", body, StringComparison.Ordinal);
        Assert.Contains("\n  \"error\": {", body, StringComparison.Ordinal);
        Assert.Equal(ErrorClass.Fatal, UpstreamError.FromHttpResponse(429, null, Encoding.UTF8.GetBytes(body)).Classification);
    }

    [Theory]
    [InlineData("{not json", "invalid JSON")]
    [InlineData("""{"model":"m","temperature":"hot"}""", "$.temperature")]
    [InlineData("""{"input":"x"}""", "'model'")]
    public async Task Bad_bodies_get_400_with_a_precise_message(string body, string expected)
    {
        using var response = await PostAsync(Encoding.UTF8.GetBytes(body));
        var error = UpstreamError.FromHttpResponse((int)response.StatusCode, null, await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_post_without_a_key_is_401()
    {
        using var anonymous = new HttpClient();
        using var response = await anonymous.PostAsync(new Uri(sim.BaseUrl + "/responses"), new ByteArrayContent(Request(User("a")).ToHttpBody()));
        var error = UpstreamError.FromHttpResponse((int)response.StatusCode, null, await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(401, error.Status);
        Assert.Equal("invalid_api_key", error.Code);
        Assert.Equal(ErrorClass.Fatal, error.Classification);
    }

    [Fact]
    public async Task A_stream_cut_after_some_events_leaves_an_interrupted_turn()
    {
        sim.Faults.CloseAfterEvents(4, transport: FaultTransport.Http);
        var (result, events, _) = await StreamAsync(Request(User("a")));

        Assert.Equal(4, events.Count);
        Assert.Equal(TurnStatus.Interrupted, result.Status);
        Assert.Equal(TurnStatus.Completed, (await StreamAsync(Request(User("b")))).Result.Status);
    }

    [Fact]
    public async Task Stats_show_the_counters_with_the_key_hidden()
    {
        await using (var client = await SimClient.ConnectAsync(sim))
        {
            await client.TurnAsync(Request(User("a")));
        }

        await StreamAsync(Request(User("b")));
        using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri(sim.BaseUrl, "/_stats")));
        var root = doc.RootElement;

        Assert.Equal(1, root.GetProperty("connections_opened").GetInt64());
        Assert.Equal(1, root.GetProperty("response_create_frames").GetInt64());
        Assert.Equal(1, root.GetProperty("http_posts").GetInt64());
        Assert.Equal(2, root.GetProperty("fresh_requests").GetInt64());
        Assert.True(root.GetProperty("websocket_bytes_received").GetInt64() > 0);
        Assert.Equal("Bearer ***", root.GetProperty("last_handshake_headers").GetProperty("Authorization").GetString());
        Assert.Equal(["websocket", "http"], root.GetProperty("last_requests").EnumerateArray().Select(r => r.GetProperty("transport").GetString()));
    }

    [Fact]
    public async Task An_injected_sse_error_is_a_flat_error_event_that_ends_the_stream()
    {
        sim.Faults.SendSseError(afterEvents: 2, "server_error", "boom");

        var (_, events, _) = await StreamAsync(Request(User("hello")));

        Assert.Equal(3, events.Count);
        var error = Assert.IsType<ErrorEvent>(events[^1]);
        Assert.Equal("server_error", error.Error.Code);
        Assert.Equal("boom", error.Error.Message);
        Assert.Equal(2, error.SequenceNumber);
    }
}
