using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Simulator.Tests;

public sealed class WebSocketModeSpecs : IAsyncLifetime
{
    private ResponsesSimulator sim = null!;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync();

    public async Task DisposeAsync() => await sim.DisposeAsync();

    [Fact]
    public async Task A_tool_loop_chained_with_incremental_input_counts_the_full_server_side_context()
    {
        await using var client = await SimClient.ConnectAsync(sim);

        var first = await client.TurnAsync(Request(User("weather? CALL lookup 2")));
        Assert.Equal(FinishReason.ToolCalls, first.FinishReason);
        Assert.Equal(["lookup", "lookup"], first.FunctionCalls.Select(c => c.Name));
        Assert.Equal("""{"index":1,"of":2}""", first.FunctionCalls[1].Arguments);
        Assert.All(first.FunctionCalls, c => Assert.StartsWith("call_", c.CallId, StringComparison.Ordinal));
        Assert.Equal(new Usage(10, 0, 0, 20, 0, 30), first.Usage);

        // Continue: only the two tool results go up; the server adds 1 input + 2 calls from its cache.
        var results = first.FunctionCalls.Select(c => ToolResult(c.CallId)).ToArray();
        var second = await client.TurnAsync(Request(results), first.ResponseId);
        Assert.Equal("tool results received: 2. ok: 5", second.Text);
        Assert.Equal(new Usage(50, 30, 0, 10, 0, 60), second.Usage);

        var third = await client.TurnAsync(Request(User("thanks")), second.ResponseId);
        Assert.Equal("ok: 7", third.Text);
        Assert.Equal(60, third.Usage!.CachedTokens);

        Assert.Equal(1, sim.Counters.FreshRequests);
        Assert.Equal(2, sim.Counters.ChainedRequests);
        Assert.Equal(3, sim.Counters.ResponseCreateFrames);
    }

    [Fact]
    public async Task A_continuation_that_resends_history_shows_the_duplicate_in_N()
    {
        await using var client = await SimClient.ConnectAsync(sim);
        var a = User("a");
        var first = await client.TurnAsync(Request(a));
        Assert.Equal("ok: 1", first.Text);

        // The wrong way: previous_response_id together with the whole history.
        var wrong = await client.TurnAsync(Request(a, first.Output[0].Json, User("b")), first.ResponseId);
        Assert.Equal("ok: 5", wrong.Text);

        // The right way: only the new item.
        var right = await client.TurnAsync(Request(User("b")), first.ResponseId);
        Assert.Equal("ok: 3", right.Text);
    }

    [Fact]
    public async Task Previous_response_not_found_has_the_exact_websocket_shape_and_the_connection_is_kept()
    {
        await using var client = await SimClient.ConnectAsync(sim);
        await client.SendAsync(Request([User("x")], store: false).ToWebSocketFrame("resp_missing", [User("x")]));

        var frame = (await client.ReceiveFrameAsync())!;
        using (var doc = JsonDocument.Parse(frame))
        {
            Assert.Equal("error", doc.RootElement.GetProperty("type").GetString());
            Assert.Equal(400, doc.RootElement.GetProperty("status").GetInt32());
            Assert.False(doc.RootElement.TryGetProperty("code", out _));
        }

        var error = UpstreamError.FromErrorEvent(frame);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(UpstreamError.PreviousResponseNotFound, error.Code);
        Assert.Equal("previous_response_id", error.Param);
        Assert.Equal("Previous response with id 'resp_missing' not found.", error.Message);
        Assert.True(error.IsReplaySafe);

        Assert.Equal("ok: 1", (await client.TurnAsync(Request(User("again")))).Text);
    }

    [Fact]
    public async Task Store_true_resolves_from_the_persisted_store_on_another_connection_and_store_false_does_not()
    {
        string stored, unstored;
        await using (var first = await SimClient.ConnectAsync(sim))
        {
            stored = (await first.TurnAsync(Request([User("a")], store: true))).ResponseId!;
            unstored = (await first.TurnAsync(Request([User("b")], store: false))).ResponseId!;
        }

        await using var second = await SimClient.ConnectAsync(sim);
        var fromStore = await second.TurnAsync(Request([User("c")], store: true), stored);
        Assert.Equal("ok: 3", fromStore.Text);
        Assert.Equal(0, fromStore.Usage!.CachedTokens);

        var missing = await second.TurnAsync(Request([User("d")], store: false), unstored);
        Assert.Equal(UpstreamError.PreviousResponseNotFound, missing.Error!.Code);

        // With store=false even a stored response resolves only from this connection's cache.
        var notFromStore = await second.TurnAsync(Request([User("e")], store: false), stored);
        Assert.Equal(UpstreamError.PreviousResponseNotFound, notFromStore.Error!.Code);
    }

    [Fact]
    public async Task A_failed_continuation_evicts_the_id_it_referenced()
    {
        await using var client = await SimClient.ConnectAsync(sim);
        var first = await client.TurnAsync(Request([User("a")], store: false));

        sim.Faults.FailResponses("server_error");
        var failed = await client.TurnAsync(Request([User("b")], store: false), first.ResponseId);
        Assert.Equal(TurnStatus.Failed, failed.Status);
        Assert.Equal("server_error", failed.Error!.Code);

        var after = await client.TurnAsync(Request([User("c")], store: false), first.ResponseId);
        Assert.Equal(UpstreamError.PreviousResponseNotFound, after.Error!.Code);
    }

    [Theory]
    [InlineData("this is not json", "Invalid JSON")]
    [InlineData("""{"type":"response.cancel"}""", "Unsupported event type 'response.cancel'")]
    [InlineData("""{"model":"m","input":[]}""", "Missing required parameter: 'type'")]
    [InlineData("""{"type":"response.create","input":[]}""", "Missing required parameter: 'model'")]
    [InlineData("""{"type":"response.create","model":"m","background":true,"input":[]}""", "background")]
    [InlineData("""{"type":"response.create","model":"m","input":5}""", "input")]
    public async Task Invalid_frames_get_a_websocket_error_and_the_connection_is_kept(string frame, string expected)
    {
        await using var client = await SimClient.ConnectAsync(sim);
        await client.SendAsync(frame);

        var error = Assert.IsType<ErrorEvent>(await client.ReceiveEventAsync()).Error;
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorClass.Fatal, error.Classification);

        Assert.Equal("ok: 1", (await client.TurnAsync(Request(User("still here")))).Text);
    }

    [Fact]
    public async Task A_binary_frame_gets_an_error_and_the_connection_is_kept()
    {
        await using var client = await SimClient.ConnectAsync(sim);
        await client.Socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);

        var error = Assert.IsType<ErrorEvent>(await client.ReceiveEventAsync()).Error;
        Assert.Equal(400, error.Status);
        Assert.Contains("Binary", error.Message, StringComparison.Ordinal);
        Assert.Equal("ok: 1", (await client.TurnAsync(Request(User("text now")))).Text);
    }

    [Fact]
    public async Task A_second_request_while_one_runs_is_queued_first_in_first_out()
    {
        sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(2);
        await using var client = await SimClient.ConnectAsync(sim);
        await client.SendAsync(Request(User("one")).ToWebSocketFrame(null, [User("one")]));
        await client.SendAsync(Request(User("two"), User("three")).ToWebSocketFrame(null, [User("two"), User("three")]));

        var (a, aEvents) = await client.ReadTurnAsync();
        var (b, bEvents) = await client.ReadTurnAsync();

        Assert.Equal("ok: 1", a.Text);
        Assert.Equal("ok: 2", b.Text);
        Assert.NotEqual(a.ResponseId, b.ResponseId);
        Assert.Equal(Enumerable.Range(0, aEvents.Count).Select(i => (long?)i), aEvents.Select(e => e.SequenceNumber));
        Assert.Equal(Enumerable.Range(0, bEvents.Count).Select(i => (long?)i), bEvents.Select(e => e.SequenceNumber));
        Assert.All(aEvents.OfType<ResponseEvent>(), e => Assert.Equal(a.ResponseId, e.Response.Id));
        Assert.All(bEvents.OfType<ResponseEvent>(), e => Assert.Equal(b.ResponseId, e.Response.Id));
    }

    [Fact]
    public async Task A_warmup_completes_empty_with_zero_usage_and_chains()
    {
        await using var client = await SimClient.ConnectAsync(sim);
        var history = new[] { User("system-ish context"), User("more") };

        await client.SendAsync(Request(history).ToWebSocketFrame(null, history, generate: false));
        var (warm, events) = await client.ReadTurnAsync();
        Assert.Equal(["response.created", "response.completed"], events.Select(e => e.Type));
        Assert.Equal(TurnStatus.Completed, warm.Status);
        Assert.Empty(warm.Output);
        Assert.Equal(Usage.Zero, warm.Usage);
        Assert.Equal(1, sim.Counters.Warmups);

        var next = await client.TurnAsync(Request(User("go")), warm.ResponseId);
        Assert.Equal("ok: 3", next.Text);
        Assert.Equal(20, next.Usage!.CachedTokens);
    }

    [Fact]
    public async Task The_lifetime_limit_answers_a_request_on_an_aged_socket_then_closes()
    {
        await using var aged = await ResponsesSimulator.StartAsync(new SimulatorOptions { ConnectionLifetime = TimeSpan.Zero });
        await using var client = await SimClient.ConnectAsync(aged);
        await client.SendAsync(Request(User("hi")).ToWebSocketFrame(null, [User("hi")]));

        var error = UpstreamError.FromErrorEvent((await client.ReceiveFrameAsync())!);
        Assert.Equal(400, error.Status);
        Assert.Equal(UpstreamError.ConnectionLimitReached, error.Code);
        Assert.Equal("Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.", error.Message);
        Assert.True(error.IsReplaySafe);

        Assert.Null(await client.ReceiveFrameAsync());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.Socket.CloseStatus);
    }

    [Fact]
    public async Task The_lifetime_limit_is_pushed_to_an_idle_socket_when_asked()
    {
        await using var aged = await ResponsesSimulator.StartAsync(new SimulatorOptions { ConnectionLifetime = TimeSpan.Zero, PushLimitErrorWhenIdle = true });
        await using var client = await SimClient.ConnectAsync(aged);

        var error = Assert.IsType<ErrorEvent>(await client.ReceiveEventAsync()).Error;
        Assert.Equal(UpstreamError.ConnectionLimitReached, error.Code);
        Assert.Null(await client.ReceiveFrameAsync());
    }

    [Fact]
    public async Task A_socket_outlives_turns_that_end_before_its_lifetime_then_the_limit_fires()
    {
        // 13 events at 40 ms each: the first turn alone outlasts a 300 ms lifetime.
        await using var slow = await ResponsesSimulator.StartAsync(new SimulatorOptions
        {
            ConnectionLifetime = TimeSpan.FromMilliseconds(300),
            PerEventLatency = TimeSpan.FromMilliseconds(40),
        });
        await using var client = await SimClient.ConnectAsync(slow);

        var first = await client.TurnAsync(Request(User("a")));
        Assert.Equal(TurnStatus.Completed, first.Status);
        var second = await client.TurnAsync(Request(User("b")), first.ResponseId);
        Assert.Equal(UpstreamError.ConnectionLimitReached, second.Error!.Code);
    }

    [Theory]
    [InlineData(426)]
    [InlineData(429)]
    [InlineData(500)]
    public async Task A_refused_upgrade_reports_its_status(int status)
    {
        sim.Faults.RefuseUpgrades(new HttpFault(status, RetryAfter: TimeSpan.FromSeconds(3)));
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer sk-test");
        socket.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(sim.WebSocketUrl, CancellationToken.None));
        Assert.Equal((HttpStatusCode)status, socket.HttpStatusCode);
        Assert.Equal("3", socket.HttpResponseHeaders!["Retry-After"].Single());
        Assert.Equal(1, sim.Counters.UpgradesRefused);

        // The next upgrade is accepted: the fault was for one.
        await using var client = await SimClient.ConnectAsync(sim);
        Assert.Equal(1, sim.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task A_refused_upgrade_carries_the_http_error_body()
    {
        sim.Faults.RefuseUpgrades(new HttpFault(426));
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(sim.BaseUrl + "/responses"));
        request.Headers.Add("Authorization", "Bearer sk-test");
        request.Headers.Add("Connection", "Upgrade");
        request.Headers.Add("Upgrade", "websocket");
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        var error = UpstreamError.FromHttpResponse((int)response.StatusCode, null, body, refusedUpgrade: true);

        Assert.Equal(426, error.Status);
        Assert.True(error.IsUpgradeRequired);
        Assert.Equal("upgrade_required", error.Code);
        Assert.False(string.IsNullOrEmpty(error.Message));
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_401_on_the_upgrade()
    {
        await using var keyed = await ResponsesSimulator.StartAsync(new SimulatorOptions { ApiKeys = ["sk-right"] });
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer sk-wrong");
        socket.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(keyed.WebSocketUrl, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);

        await using var ok = await SimClient.ConnectAsync(keyed, "sk-right");
        Assert.Equal("ok: 1", (await ok.TurnAsync(Request(User("in")))).Text);
    }

    [Fact]
    public async Task Handshake_headers_are_recorded()
    {
        await using var client = await SimClient.ConnectAsync(sim, configure: o =>
        {
            o.SetRequestHeader("OpenAI-Beta", "responses_websockets=2026-02-06");
            o.SetRequestHeader("User-Agent", "Fantasy.Actors/1.0");
        });

        var headers = sim.Counters.LastHandshakeHeaders;
        Assert.Equal("responses_websockets=2026-02-06", headers["openai-beta"]);
        Assert.Equal("Fantasy.Actors/1.0", headers["User-Agent"]);
        Assert.Equal("Bearer sk-test", headers["Authorization"]);
    }

    [Fact]
    public async Task Close_after_events_aborts_the_socket_mid_response()
    {
        sim.Faults.CloseAfterEvents(3);
        await using var client = await SimClient.ConnectAsync(sim);
        await client.SendAsync(Request(User("a")).ToWebSocketFrame(null, [User("a")]));

        var acc = new TurnAccumulator();
        for (var i = 0; i < 3; i++)
        {
            acc.Apply(await client.ReceiveEventAsync());
        }

        await Assert.ThrowsAsync<WebSocketException>(() => client.ReceiveFrameAsync());
        Assert.Equal(TurnStatus.Interrupted, acc.ToResult().Status);
    }

    [Fact]
    public async Task An_injected_error_frame_replaces_the_response()
    {
        sim.Faults.SendError(429, "rate_limit_exceeded", "Rate limit reached. Please try again in 1.5s.", transport: FaultTransport.WebSocket);
        await using var client = await SimClient.ConnectAsync(sim);

        var r = await client.TurnAsync(Request(User("a")));
        Assert.Equal(TurnStatus.Failed, r.Status);
        Assert.Equal(429, r.Error!.Status);
        Assert.Equal("rate_limit_error", r.Error.Type);
        Assert.Equal(TimeSpan.FromSeconds(1.5), r.Error.RetryAfter);
        Assert.Equal(ErrorClass.Retryable, r.Error.Classification);
    }

    [Fact]
    public async Task A_malformed_frame_follows_response_created()
    {
        sim.Faults.SendMalformedFrame();
        await using var client = await SimClient.ConnectAsync(sim);
        await client.SendAsync(Request(User("a")).ToWebSocketFrame(null, [User("a")]));

        Assert.IsType<ResponseCreated>(await client.ReceiveEventAsync());
        await Assert.ThrowsAsync<ProtocolException>(() => client.ReceiveEventAsync());
    }

    [Fact]
    public async Task An_oversized_frame_follows_response_created()
    {
        sim.Faults.SendOversizedFrame(2 * 1024 * 1024);
        await using var client = await SimClient.ConnectAsync(sim);
        await client.SendAsync(Request(User("a")).ToWebSocketFrame(null, [User("a")]));

        Assert.IsType<ResponseCreated>(await client.ReceiveEventAsync());
        var big = (await client.ReceiveFrameAsync())!;
        Assert.True(big.Length >= 2 * 1024 * 1024 - 200, $"{big.Length} bytes");
        Assert.IsType<OutputTextDelta>(EventParser.Parse(big));
    }

    [Fact]
    public async Task A_stall_holds_events_back_for_its_duration()
    {
        sim.Faults.Stall(TimeSpan.FromMilliseconds(300));
        await using var client = await SimClient.ConnectAsync(sim);
        await client.SendAsync(Request(User("a")).ToWebSocketFrame(null, [User("a")]));

        Assert.IsType<ResponseCreated>(await client.ReceiveEventAsync());
        var clock = Stopwatch.StartNew();
        await client.ReceiveEventAsync();
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"next event after {clock.Elapsed}");
    }

    [Fact]
    public async Task The_close_handshake_is_completed()
    {
        var client = await SimClient.ConnectAsync(sim);
        await using (client)
        {
            await client.TurnAsync(Request(User("a")));
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.CloseAsync());
            Assert.Equal(WebSocketState.Closed, client.Socket.State);
        }
    }

    [Fact]
    public async Task Pings_are_answered_during_slow_turns()
    {
        sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(30);
        await using var client = await SimClient.ConnectAsync(sim, configure: o =>
        {
            o.KeepAliveInterval = TimeSpan.FromMilliseconds(20);
            o.KeepAliveTimeout = TimeSpan.FromMilliseconds(250);
        });

        // Each turn takes ~400 ms: the client pings many times and aborts if a pong is ever late.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(TurnStatus.Completed, (await client.TurnAsync(Request(User("slow")))).Status);
        }

        Assert.Equal(WebSocketState.Open, client.Socket.State);
    }
}
