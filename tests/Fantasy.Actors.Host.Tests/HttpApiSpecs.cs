using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The gateway's HTTP API with raw requests: errors, tenants, sessions, disconnects, metrics.</summary>
[Collection(GatewayGroup.Name)]
public sealed class HttpApiSpecs(GatewayFixture fx)
{

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        using (request)
        {
            var response = await fx.Http.SendAsync(request).WaitAsync(Patience);
            var text = await response.Content.ReadAsStringAsync();
            var body = text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default;
            return (response.StatusCode, body, response);
        }
    }

    private static void AssertError(JsonElement body, string code)
    {
        var error = body.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.True(error.TryGetProperty("type", out _));
        Assert.True(error.TryGetProperty("param", out _));
    }

    [Theory]
    [InlineData("{not json", "invalid_json")]
    [InlineData("""{"model":"m","input":"x","temperature":"hot"}""", "invalid_json")]
    [InlineData("""{"input":"x"}""", "missing_required_parameter")]
    public async Task Bad_bodies_are_400_with_a_precise_message(string json, string code)
    {
        var (status, body, _) = await SendAsync(fx.Post(json));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertError(body, code);
        if (json.Contains("hot", StringComparison.Ordinal))
        {
            Assert.Contains("temperature", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("temperature", body.GetProperty("error").GetProperty("param").GetString());
            Assert.DoesNotContain("Fantasy.", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_oversized_body_is_400()
    {
        var big = "{\"model\":\"m\",\"input\":\"" + new string('x', 70_000) + "\"}";
        var (status, body, _) = await SendAsync(fx.Post(big));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertError(body, "request_too_large");
        Assert.Contains("65536", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_session_id_is_400()
    {
        var (status, body, _) = await SendAsync(fx.Post("""{"model":"m","input":"x"}""", sessionId: "has space"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertError(body, "invalid_session_id");
    }

    [Theory]
    [InlineData(null, "missing_api_key")]
    [InlineData("sk-nobody", "invalid_api_key")]
    public async Task Unknown_or_missing_keys_are_401(string? key, string code)
    {
        var (status, body, _) = await SendAsync(fx.Post("""{"model":"m","input":"x"}""", key));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertError(body, code);
        var (listStatus, _, _) = await SendAsync(fx.Get("/v1/sessions", key));
        Assert.Equal(HttpStatusCode.Unauthorized, listStatus);
    }

    [Fact]
    public async Task An_upstream_error_is_passed_on_with_its_status()
    {
        fx.Sim.Faults.SendError(400, "context_length_exceeded", "Your input exceeds the context window of this model.");
        var (status, body, _) = await SendAsync(fx.Post("""{"model":"m","input":"x"}""", sessionId: "upstream-error"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertError(body, "context_length_exceeded");
    }

    [Fact]
    public async Task A_streaming_turn_whose_upstream_answers_429_rate_limit_exceeded_before_any_event_waits_and_is_resent_not_failed()
    {
        // The shared budget holds the turn for the upstream's wait (here none is said: fantasy.rate-limits.default-hold)
        // and sends it again: the client gets the stream, never the upstream's 429.
        var refusedBefore = fx.Sim.Counters.ErrorsSent;
        fx.Sim.Faults.SendError(429, "rate_limit_exceeded", "injected rate_limit_exceeded", transport: FaultTransport.WebSocket);
        using var request = fx.Post("""{"model":"m","input":"x","stream":true}""", sessionId: "stream-rate-limited");
        using var response = await fx.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var stream = await response.Content.ReadAsStringAsync();
        Assert.Contains("response.completed", stream, StringComparison.Ordinal);
        Assert.DoesNotContain("rate_limit_exceeded", stream, StringComparison.Ordinal);
        Assert.True(fx.Sim.Counters.ErrorsSent > refusedBefore, "the upstream's refusal was never sent: the spec proves nothing");
    }

    [Theory]
    [InlineData(500, "server_error")]
    [InlineData(429, "insufficient_quota")]
    [InlineData(400, "context_length_exceeded")]
    public async Task A_streaming_turn_whose_upstream_errs_before_any_event_gets_the_errors_own_status(int upstreamStatus, string code)
    {
        fx.Sim.Faults.SendError(upstreamStatus, code, $"injected {code}", transport: FaultTransport.WebSocket);
        var (status, body, response) = await SendAsync(fx.Post("""{"model":"m","input":"x","stream":true}""", sessionId: $"stream-error-{code}"));
        Assert.Equal((HttpStatusCode)upstreamStatus, status);
        Assert.NotEqual("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        AssertError(body, code);
        Assert.Equal("websocket", response.Headers.GetValues("x-fantasy-transport").Single());
    }

    [Fact]
    public async Task A_streaming_turn_chaining_from_the_tenants_own_store_false_id_of_another_session_streams_with_its_context()
    {
        var (_, first, _) = await SendAsync(fx.Post("""{"model":"m","input":"hello","store":false}""", sessionId: "owner-a"));
        var id = first.GetProperty("id").GetString();

        // The other session's connection never held it, and the upstream did not store it: the gateway sends its context.
        var (status, _, response) = await SendAsync(fx.Post($$"""{"model":"m","input":"next","stream":true,"store":false,"previous_response_id":"{{id}}"}""", sessionId: "owner-b"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var stream = await response.Content.ReadAsStringAsync();
        Assert.Contains("response.completed", stream, StringComparison.Ordinal);
        Assert.Contains("ok: 3", stream, StringComparison.Ordinal); // hello, its answer, next
    }

    [Fact]
    public async Task An_empty_session_id_is_400()
    {
        var (status, body, _) = await SendAsync(fx.Post("""{"model":"m","input":"x"}""", sessionId: ""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertError(body, "invalid_session_id");
    }

    [Fact]
    public async Task An_unknown_path_is_the_apis_404_invalid_url()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fx.Base, "nothing-here"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFixture.AcmeKey);
        var (status, body, _) = await SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, status);
        var error = body.GetProperty("error");
        // A tenant on the shared upstream key: the path is not one passed through for it (the message says so after the API's words).
        Assert.StartsWith("Invalid URL (GET /v1/nothing-here)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("code").ValueKind);
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
    }

    [Fact]
    public async Task A_background_request_is_refused_with_a_400_naming_the_parameter_never_answered_synchronously()
    {
        var before = fx.Sim.Counters.ResponseCreateFrames + fx.Sim.Counters.HttpPosts;
        var (status, body, _) = await SendAsync(fx.Post("""{"model":"m","input":"x","background":true}""", sessionId: "background"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertError(body, "unsupported_parameter");
        Assert.Equal("background", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(before, fx.Sim.Counters.ResponseCreateFrames + fx.Sim.Counters.HttpPosts);
    }

    [Theory]
    [InlineData("PUT", "/v1/responses", 405, "method_not_allowed")]
    public async Task Routing_errors_have_an_error_body_too(string method, string path, int expected, string code)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(fx.Base, path));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFixture.AcmeKey);
        var (status, body, _) = await SendAsync(request);
        Assert.Equal((HttpStatusCode)expected, status);
        AssertError(body, code);
    }

    [Fact]
    public async Task A_full_session_queue_is_429_with_retry_after()
    {
        // The first turn holds the session long enough for the next two requests, even on a loaded machine.
        fx.Sim.Faults.Stall(TimeSpan.FromSeconds(8));
        var json = """{"model":"m","input":"x","stream":true}""";
        using var first = await fx.Http.SendAsync(fx.Post(json, GatewayFixture.TinyKey, "busy"), HttpCompletionOption.ResponseHeadersRead);
        var queued = fx.Http.SendAsync(fx.Post("""{"model":"m","input":"y"}""", GatewayFixture.TinyKey, "busy"));
        await WaitForQueueAsync("busy", GatewayFixture.TinyKey, 1);

        var (status, body, response) = await SendAsync(fx.Post("""{"model":"m","input":"z"}""", GatewayFixture.TinyKey, "busy"));
        Assert.Equal((HttpStatusCode)429, status);
        AssertError(body, "session_busy");
        Assert.NotNull(response.Headers.RetryAfter);
        using var queuedResponse = await queued.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.OK, queuedResponse.StatusCode);
    }

    private async Task WaitForQueueAsync(string id, string key, int length)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            var (status, body, _) = await SendAsync(fx.Get($"/v1/sessions/{id}", key));
            if (status == HttpStatusCode.OK && body.GetProperty("queue_length").GetInt32() == length)
            {
                return;
            }

            await Task.Yield();
        }

        Assert.Fail($"session {id} never had {length} queued turns");
    }

    [Fact]
    public async Task Tenants_never_see_or_reach_each_others_sessions_or_responses()
    {
        var (_, acmeTurn, _) = await SendAsync(fx.Post("""{"model":"m","input":"acme"}""", GatewayFixture.AcmeKey, "shared-name"));
        var acmeResponse = acmeTurn.GetProperty("id").GetString();

        // Same session id, other tenant: a separate conversation.
        var (globexStatus, globexTurn, _) = await SendAsync(fx.Post("""{"model":"m","input":[{"role":"user","content":"acme"},{"role":"assistant","content":"ok: 1"},{"role":"user","content":"globex"}]}""", GatewayFixture.GlobexKey, "shared-name"));
        Assert.Equal(HttpStatusCode.OK, globexStatus);
        Assert.Equal("ok: 3", globexTurn.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());

        // Chaining from another tenant's response: as if it did not exist.
        var (chainStatus, chainBody, _) = await SendAsync(fx.Post($$"""{"model":"m","input":"more","previous_response_id":"{{acmeResponse}}"}""", GatewayFixture.GlobexKey, "g2"));
        Assert.Equal(HttpStatusCode.BadRequest, chainStatus);
        AssertError(chainBody, "previous_response_not_found");

        // Listing and closing see only one's own.
        var (_, globexList, _) = await SendAsync(fx.Get("/v1/sessions", GatewayFixture.GlobexKey));
        Assert.DoesNotContain(globexList.GetProperty("data").EnumerateArray(), s => s.GetProperty("id").GetString() == "g2");
        var (getStatus, _, _) = await SendAsync(fx.Get("/v1/sessions/only-acme-has-this", GatewayFixture.GlobexKey));
        Assert.Equal(HttpStatusCode.NotFound, getStatus);
        await SendAsync(fx.Post("""{"model":"m","input":"mine"}""", GatewayFixture.AcmeKey, "only-acme-has-this"));
        var (otherGet, _, _) = await SendAsync(fx.Get("/v1/sessions/only-acme-has-this", GatewayFixture.GlobexKey));
        Assert.Equal(HttpStatusCode.NotFound, otherGet);
        var (otherDelete, _, _) = await SendAsync(fx.Get("/v1/sessions/only-acme-has-this", GatewayFixture.GlobexKey, HttpMethod.Delete));
        Assert.Equal(HttpStatusCode.NotFound, otherDelete);
        var (ownGet, ownStatus, _) = await SendAsync(fx.Get("/v1/sessions/only-acme-has-this", GatewayFixture.AcmeKey));
        Assert.Equal(HttpStatusCode.OK, ownGet);
        Assert.Equal(1, ownStatus.GetProperty("turns").GetInt32());
        var (ownDelete, deleted, _) = await SendAsync(fx.Get("/v1/sessions/only-acme-has-this", GatewayFixture.AcmeKey, HttpMethod.Delete));
        Assert.Equal(HttpStatusCode.OK, ownDelete);
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
    }

    [Fact]
    public async Task A_resent_history_is_read_against_the_last_turn_and_an_edited_one_still_goes_out_whole()
    {
        // Turn 1, then turn 2 resending turn 1's input and output as the gateway returned them: read against what the
        // session's last turn held, chained.
        var (_, first, _) = await SendAsync(fx.Post("""{"model":"m","input":[{"role":"user","content":"alpha"}]}""", sessionId: "resend"));
        var output = first.GetProperty("output").EnumerateArray().Select(o => o.GetRawText()).ToList();
        var history = new List<string> { """{"role":"user","content":"alpha"}""" };
        history.AddRange(output);
        history.Add("""{"role":"user","content":"bravo"}""");
        var (_, second, chained) = await SendAsync(fx.Post($$"""{"model":"m","input":[{{string.Join(",", history)}}]}""", sessionId: "resend"));
        Assert.Equal("true", chained.Headers.GetValues("x-fantasy-chained").Single());
        Assert.Equal(["bravo"], UpstreamTexts(fx.Sim.Counters.LastRequests[^1].Body));

        // Turn 3 resends turn 2's body (recognised by its digest) and output: chained again.
        history.AddRange(second.GetProperty("output").EnumerateArray().Select(o => o.GetRawText()));
        history.Add("""{"role":"user","content":"charlie"}""");
        var (_, third, chainedAgain) = await SendAsync(fx.Post($$"""{"model":"m","input":[{{string.Join(",", history)}}]}""", sessionId: "resend"));
        Assert.Equal("true", chainedAgain.Headers.GetValues("x-fantasy-chained").Single());
        Assert.Equal(["charlie"], UpstreamTexts(fx.Sim.Counters.LastRequests[^1].Body));

        // Turn 4 with one character of the first message changed (same length): the whole history goes out.
        history.AddRange(third.GetProperty("output").EnumerateArray().Select(o => o.GetRawText()));
        history[0] = """{"role":"user","content":"alphA"}""";
        history.Add("""{"role":"user","content":"delta"}""");
        var (status, _, whole) = await SendAsync(fx.Post($$"""{"model":"m","input":[{{string.Join(",", history)}}]}""", sessionId: "resend"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("false", whole.Headers.GetValues("x-fantasy-chained").Single());
        var sent = UpstreamTexts(fx.Sim.Counters.LastRequests[^1].Body);
        Assert.Equal("alphA", sent[0]);
        Assert.Equal(history.Count, sent.Count);
    }

    /// <summary>The texts of a request body's input items (a message's text, or the item's type).</summary>
    private static List<string> UpstreamTexts(string body) =>
        [.. JsonDocument.Parse(body).RootElement.GetProperty("input").EnumerateArray().Select(item =>
            !item.TryGetProperty("content", out var c) ? item.GetProperty("type").GetString()!
            : c.ValueKind == JsonValueKind.String ? c.GetString()!
            : string.Concat(c.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : string.Empty)))];

    [Fact]
    public async Task A_warm_up_then_a_turn_goes_out_as_a_delta()
    {
        var (status, warm, _) = await SendAsync(fx.Post("""{"model":"m","input":[{"role":"user","content":"context"}],"generate":false}""", sessionId: "warm"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, warm.GetProperty("output").GetArrayLength());

        var (_, turn, response) = await SendAsync(fx.Post("""{"model":"m","input":[{"role":"user","content":"context"},{"role":"user","content":"question"}]}""", sessionId: "warm"));
        Assert.Equal("true", response.Headers.GetValues("x-fantasy-chained").Single());
        Assert.Equal("websocket", response.Headers.GetValues("x-fantasy-transport").Single());
        Assert.Equal("ok: 2", turn.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Streaming_passes_upstream_events_through_unchanged()
    {
        using var response = await fx.Http.SendAsync(fx.Post("""{"model":"m","input":"hi","stream":true}""", sessionId: "sse"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var frames = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("event: response.created\ndata: {\"type\":\"response.created\"", frames[0], StringComparison.Ordinal);
        Assert.StartsWith("event: response.completed\n", frames[^1], StringComparison.Ordinal);
        Assert.All(frames, f => Assert.Matches("^event: [a-z_.]+\ndata: \\{.*\\}$", f));
    }

    [Fact]
    public async Task A_json_turn_whose_client_leaves_before_its_end_is_counted_as_cancelled()
    {
        // Summed over transports (a turn that never started has none); the tenant is used by this spec alone.
        static double Cancelled(string metrics) =>
            PrometheusText.Parse(metrics).Sum("fantasy_turns_total", "tenant=counted", "outcome=cancelled");

        var before = Cancelled(await fx.Http.GetStringAsync(new Uri(fx.Gateway.BaseAddress, "/metrics")));
        fx.Sim.Faults.Stall(TimeSpan.FromSeconds(10));
        var sent = fx.Sim.Counters.ResponseCreateFrames;
        using (var cts = new CancellationTokenSource())
        {
            var call = fx.Http.SendAsync(fx.Post("""{"model":"m","input":"long"}""", GatewayFixture.CountedKey, "json-leaves"), cts.Token);

            // The turn is running upstream (its request arrived); then the client goes away.
            var clock = Stopwatch.StartNew();
            while (fx.Sim.Counters.ResponseCreateFrames == sent && clock.Elapsed < Patience)
            {
                await Task.Yield();
            }

            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        }

        var waited = Stopwatch.StartNew();
        var after = before;
        while (after == before && waited.Elapsed < Patience)
        {
            after = Cancelled(await fx.Http.GetStringAsync(new Uri(fx.Gateway.BaseAddress, "/metrics")));
            await Task.Yield();
        }

        Assert.Equal(before + 1, after);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_cancels_its_turn_and_the_socket_is_discarded()
    {
        fx.Sim.Faults.Stall(TimeSpan.FromSeconds(10));
        var opened = fx.Sim.Counters.ConnectionsOpened;
        using (var cts = new CancellationTokenSource())
        {
            using var response = await fx.Http.SendAsync(fx.Post("""{"model":"m","input":"long","stream":true}""", sessionId: "disconnect"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
            await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            var buffer = new byte[256];
            Assert.True(await stream.ReadAsync(buffer, cts.Token) > 0); // the first event arrived
            await cts.CancelAsync();
        }

        // The session discards its socket; the next turn runs on a new one.
        var clock = Stopwatch.StartNew();
        JsonElement status = default;
        while (clock.Elapsed < Patience)
        {
            (_, status, _) = await SendAsync(fx.Get("/v1/sessions/disconnect"));
            if (!status.GetProperty("busy").GetBoolean())
            {
                break;
            }

            await Task.Yield();
        }

        Assert.False(status.GetProperty("busy").GetBoolean());
        var (nextStatus, _, _) = await SendAsync(fx.Post("""{"model":"m","input":"again"}""", sessionId: "disconnect"));
        Assert.Equal(HttpStatusCode.OK, nextStatus);
        Assert.Equal(opened + 2, fx.Sim.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task Metrics_and_health_are_served()
    {
        var before = PrometheusText.Parse(await fx.Http.GetStringAsync(new Uri(fx.Gateway.BaseAddress, "/metrics")));
        var (turnStatus, _, _) = await SendAsync(fx.Post("""{"model":"m","input":"count me"}""", GatewayFixture.CountedKey, "metrics"));
        Assert.Equal(HttpStatusCode.OK, turnStatus);
        using var metrics = await fx.Http.GetAsync(new Uri(fx.Gateway.BaseAddress, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal("text/plain", metrics.Content.Headers.ContentType!.MediaType);
        var scraped = PrometheusText.Parse(await metrics.Content.ReadAsStringAsync());

        // The gateway's own: this tenant's turn counted once, by outcome and transport, and its latency.
        Assert.Equal("counter", scraped.Types["fantasy_turns_total"]);
        Assert.Equal(1, scraped.Sum("fantasy_turns_total", "tenant=counted", "outcome=completed", "transport=websocket")
                        - before.Sum("fantasy_turns_total", "tenant=counted", "outcome=completed", "transport=websocket"));
        Assert.True(scraped.CheckHistogram("fantasy_turn_duration_seconds") >= 1);
        Assert.Equal(1, scraped.Sum("fantasy_turn_duration_seconds_count", "tenant=counted", "transport=websocket")
                        - before.Sum("fantasy_turn_duration_seconds_count", "tenant=counted", "transport=websocket"));
        Assert.Equal(14 + 1, scraped.Find("fantasy_turn_duration_seconds_bucket", "tenant=counted", "transport=websocket").Count());

        // Each tenant's sessions against its limit.
        Assert.Equal("gauge", scraped.Types["fantasy_tenant_sessions"]);
        Assert.True(scraped.Sum("fantasy_tenant_sessions", "tenant=counted") >= 1); // this spec's session
        Assert.Equal(50, scraped.Sum("fantasy_tenant_session_limit", "tenant=counted"));
        Assert.All(scraped.Find("fantasy_tenant_session_limit"), l => Assert.True(l.Labels.ContainsKey("tenant")));

        // The service's (process-wide: other gateways in this test process add to them): present, typed, sane.
        Assert.True(scraped.Sum("fantasy_upstream_bytes_sent_bytes_total", "transport=websocket") > 0);
        Assert.Equal("gauge", scraped.Types["fantasy_sessions_open"]);
        Assert.Equal("gauge", scraped.Types["fantasy_sockets_open"]);
        Assert.True(scraped.Sum("fantasy_sessions_open") >= 1); // this spec's session is still open
        Assert.Single(scraped.Find("fantasy_sockets_open"));
        foreach (var total in new[] { "fantasy_fallbacks_total", "fantasy_rotations_total", "fantasy_replays_total", "fantasy_sessions_turns_total" })
        {
            Assert.Equal("counter", scraped.Types[total]);
            Assert.NotEmpty(scraped.Find(total));
        }

        // GenAI semantic conventions, with their own bucket bounds (token counts are not seconds).
        Assert.True(scraped.CheckHistogram("gen_ai_client_token_usage") >= 2); // input and output
        Assert.True(scraped.CheckHistogram("gen_ai_client_operation_duration_seconds") >= 1);
        Assert.True(scraped.CheckHistogram("gen_ai_client_operation_time_to_first_chunk_seconds") >= 1);
        Assert.Contains(scraped.Find("gen_ai_client_token_usage_bucket", "gen_ai_token_type=input"), s => s.Labels["le"] == "67108864");
        Assert.True(scraped.Sum("gen_ai_client_token_usage_count", "gen_ai_token_type=output", "gen_ai_provider_name=openai") >= 1);

        // The runtime's meter comes along (ASP.NET Core's too: checked in a process of its own, RunCommandSpecs).
        Assert.Contains("dotnet_gc_collections_total", scraped.Types.Keys);

        var (readyStatus, ready, _) = await SendAsync(fx.Get("/readyz", key: null));
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("ready", ready.GetProperty("status").GetString());

        // Liveness reports the last readiness check; it does not reach for the upstream itself.
        var (status, health, _) = await SendAsync(fx.Get("/healthz", key: null));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(ready.GetProperty("upstream").GetProperty("checked_at").GetString(), health.GetProperty("upstream").GetProperty("checked_at").GetString());
        Assert.True(health.GetProperty("upstream").GetProperty("reachable").GetBoolean());
        Assert.False(health.GetProperty("upstream").GetProperty("embedded_simulator").GetBoolean());
        Assert.Equal("tcp_connect", health.GetProperty("upstream").GetProperty("check").GetString());
        Assert.Equal(JsonValueKind.String, health.GetProperty("upstream").GetProperty("last_turn_completed_at").ValueKind);
    }

    [Fact]
    public async Task A_tenant_with_its_own_upstream_key_uses_it_and_others_use_the_shared_one()
    {
        var (ownStatus, _, _) = await SendAsync(fx.Post("""{"model":"m","input":"x"}""", GatewayFixture.TinyKey, "byok-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(HttpStatusCode.OK, ownStatus);
        Assert.Equal("Bearer sk-upstream-tiny", fx.Sim.Counters.LastHandshakeHeaders["Authorization"]);

        var (sharedStatus, _, _) = await SendAsync(fx.Post("""{"model":"m","input":"x"}""", GatewayFixture.AcmeKey, "shared-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(HttpStatusCode.OK, sharedStatus);
        Assert.Equal("Bearer sk-upstream", fx.Sim.Counters.LastHandshakeHeaders["Authorization"]);
    }

    [Fact]
    public async Task A_stream_that_breaks_after_events_ends_with_a_flat_sse_error_event()
    {
        fx.Sim.Faults.CloseAfterEvents(2, transport: FaultTransport.WebSocket);
        using var response = await fx.Http.SendAsync(fx.Post("""{"model":"m","input":"hi","stream":true}""", sessionId: "broken-" + Guid.NewGuid().ToString("N")));
        var frames = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(3, frames.Length);
        Assert.StartsWith("event: error\ndata: ", frames[^1], StringComparison.Ordinal);
        var error = Assert.IsType<Fantasy.Actors.Protocol.ErrorEvent>(
            Fantasy.Actors.Protocol.EventParser.Parse(Encoding.UTF8.GetBytes(frames[^1]["event: error\ndata: ".Length..])));
        Assert.Equal("connection_failed", error.Error.Code);
        Assert.Contains("after 2 events", error.Error.Message, StringComparison.Ordinal);
    }
}
