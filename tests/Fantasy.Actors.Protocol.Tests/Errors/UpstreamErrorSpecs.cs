using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.Protocol.Tests.Errors;

public sealed class UpstreamErrorSpecs
{
    private static UpstreamError WsVariant(int line) =>
        UpstreamError.FromErrorEvent(Vectors.Frames("ws-error-variants.jsonl")[line - 1]);

    [Fact]
    public void Nested_ws_error_is_read_from_its_nested_object_not_as_flat()
    {
        var frame = Vectors.Frames("ws-error-prnf.jsonl").Single();

        // Reading the nested shape as flat (the original bug) finds no code and no message at the top.
        using (var doc = JsonDocument.Parse(frame))
        {
            Assert.False(doc.RootElement.TryGetProperty("code", out _));
            Assert.False(doc.RootElement.TryGetProperty("message", out _));
        }

        var e = UpstreamError.FromErrorEvent(frame);
        Assert.Equal(ErrorOrigin.WebSocketFrame, e.Origin);
        Assert.Equal(400, e.Status);
        Assert.Equal("invalid_request_error", e.Type);
        Assert.Equal("previous_response_not_found", e.Code);
        Assert.Equal("previous_response_id", e.Param);
        Assert.Equal("Previous response with id 'resp_04a49aa180f7b8f0016aa7ce10ef3b8191746ed5c0f2231cb4' not found.", e.Message);
        Assert.Equal(ErrorClass.ReplaySafe, e.Classification);
        Assert.DoesNotContain("(code:  )", e.ToString(), StringComparison.Ordinal);
        Assert.Equal(
            "previous_response_not_found (400): Previous response with id 'resp_04a49aa180f7b8f0016aa7ce10ef3b8191746ed5c0f2231cb4' not found. [param previous_response_id]",
            e.ToString());
    }

    [Fact]
    public void Connection_limit_frame_is_replay_safe()
    {
        var e = UpstreamError.FromErrorEvent(Vectors.Frames("ws-error-limit.jsonl").Single());

        Assert.Equal(400, e.Status);
        Assert.Equal(UpstreamError.ConnectionLimitReached, e.Code);
        Assert.Equal("Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.", e.Message);
        Assert.Null(e.Param);
        Assert.True(e.IsReplaySafe);
    }

    [Fact]
    public void Variant_1_status_code_instead_of_status()
    {
        var e = WsVariant(1);
        Assert.Equal(400, e.Status);
        Assert.Equal(ErrorClass.ReplaySafe, e.Classification);
    }

    [Fact]
    public void Variant_2_overloaded_with_top_level_headers_waits_two_seconds()
    {
        var e = WsVariant(2);
        Assert.Equal(503, e.Status);
        Assert.Equal("server_is_overloaded", e.Code);
        Assert.Equal(ErrorClass.Retryable, e.Classification);
        Assert.Equal(TimeSpan.FromSeconds(2), e.RetryAfter);
        Assert.Equal("req_3a63bd605a9908ec2adbc8eb60403373", e.RequestId);
    }

    [Fact]
    public void Variant_3_rate_limit_with_headers_inside_error_any_case()
    {
        var e = WsVariant(3);
        Assert.Equal(429, e.Status);
        Assert.Equal(ErrorClass.Retryable, e.Classification);
        Assert.Equal(TimeSpan.FromSeconds(1), e.RetryAfter);
    }

    [Fact]
    public void Variant_4_prnf_without_error_type()
    {
        var e = WsVariant(4);
        Assert.Null(e.Type);
        Assert.Equal(ErrorClass.ReplaySafe, e.Classification);
    }

    [Fact]
    public void Variant_5_delay_parsed_from_the_message()
    {
        var e = WsVariant(5);
        Assert.Equal("tokens", e.Type);
        Assert.Equal(ErrorClass.Retryable, e.Classification);
        Assert.Equal(TimeSpan.FromMilliseconds(1146), e.RetryAfter);
    }

    [Fact]
    public void Variant_6_keeps_its_lane()
    {
        var e = WsVariant(6);
        Assert.Equal("main", e.StreamId);
        Assert.Equal(ErrorClass.ReplaySafe, e.Classification);
        Assert.Equal("main", EventParser.Parse(Vectors.Frames("ws-error-variants.jsonl")[5]).StreamId);
    }

    [Fact]
    public void Variant_7_without_status_is_still_replay_safe()
    {
        var e = WsVariant(7);
        Assert.Null(e.Status);
        Assert.Equal(UpstreamError.ConnectionLimitReached, e.Code);
        Assert.Equal(ErrorClass.ReplaySafe, e.Classification);
    }

    [Fact]
    public void Variant_8_type_last_insufficient_quota_is_fatal_despite_429()
    {
        var e = WsVariant(8);
        Assert.Equal(429, e.Status);
        Assert.Equal("insufficient_quota", e.Code);
        Assert.Equal(ErrorClass.Fatal, e.Classification);
    }

    [Fact]
    public void Variant_9_context_length_is_fatal()
    {
        var e = WsVariant(9);
        Assert.Equal("input", e.Param);
        Assert.Equal(ErrorClass.Fatal, e.Classification);
    }

    [Fact]
    public void Flat_sse_error_is_read_as_flat()
    {
        var frame = Vectors.Frames("sse-error-flat.jsonl").Single(f => EventParser.Parse(f) is ErrorEvent);
        var e = UpstreamError.FromErrorEvent(frame);

        Assert.Equal(ErrorOrigin.SseEvent, e.Origin);
        Assert.Equal("server_error", e.Code);
        Assert.Null(e.Param);
        Assert.Equal(7, e.SequenceNumber);
        Assert.Equal(ErrorClass.Retryable, e.Classification);
    }

    private static UpstreamError HttpBody(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Vectors.PathOf("http-error-bodies.json")));
        var entry = doc.RootElement[index];
        var headers = entry.GetProperty("headers").EnumerateObject()
            .Select(p => new KeyValuePair<string, string>(p.Name, p.Value.GetString()!)).ToList();
        return UpstreamError.FromHttpResponse(
            entry.GetProperty("status").GetInt32(), headers, Encoding.UTF8.GetBytes(entry.GetProperty("body").GetString()!));
    }

    [Theory]
    [InlineData(0, 400, "unsupported_parameter", ErrorClass.Fatal)]
    [InlineData(1, 401, "invalid_api_key", ErrorClass.Fatal)]
    [InlineData(2, 429, "rate_limit_exceeded", ErrorClass.Retryable)]
    [InlineData(3, 429, "insufficient_quota", ErrorClass.Fatal)]
    [InlineData(4, 500, null, ErrorClass.Retryable)]
    [InlineData(5, 503, "server_is_overloaded", ErrorClass.Retryable)]
    [InlineData(6, 400, "context_length_exceeded", ErrorClass.Fatal)]
    public void Http_error_bodies_are_classified(int index, int status, string? code, ErrorClass expected)
    {
        var e = HttpBody(index);
        Assert.Equal(ErrorOrigin.HttpResponse, e.Origin);
        Assert.Equal(status, e.Status);
        Assert.Equal(code, e.Code);
        Assert.False(string.IsNullOrEmpty(e.Message));
        Assert.Equal(expected, e.Classification);
    }

    [Fact]
    public void Http_body_0_names_the_parameter()
    {
        Assert.Equal("temperature", HttpBody(0).Param);
    }

    [Fact]
    public void Retry_after_ms_wins_over_retry_after_and_the_message()
    {
        var e = HttpBody(2);
        Assert.Equal("tokens", e.Type);
        Assert.Equal(TimeSpan.FromMilliseconds(1146), e.RetryAfter);
        Assert.True(e.ShouldRetryHeader);
        Assert.Equal("req_e19b2627124ef0ea52de6a7b02e383ba", e.RequestId);
    }

    [Fact]
    public void Server_errors_without_a_server_delay_have_none()
    {
        Assert.Null(HttpBody(4).RetryAfter);
        Assert.Null(HttpBody(5).RetryAfter);
    }

    [Fact]
    public void Retry_after_as_an_http_date_is_measured_from_now()
    {
        var now = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
        var e = UpstreamError.FromHttpResponse(503, [new("Retry-After", "Wed, 25 Nov 2026 12:00:05 GMT")], "{}"u8);

        Assert.Equal(TimeSpan.FromSeconds(5), e.GetRetryAfter(now));
        Assert.Equal(TimeSpan.Zero, e.GetRetryAfter(now.AddMinutes(1)));
    }

    [Fact]
    public void X_should_retry_decides_when_present()
    {
        Assert.Equal(ErrorClass.Fatal, UpstreamError.FromHttpResponse(500, [new("x-should-retry", "false")], "{}"u8).Classification);
        Assert.Equal(ErrorClass.Retryable, UpstreamError.FromHttpResponse(400, [new("x-should-retry", "true")], "{}"u8).Classification);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(409)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    public void Transient_statuses_are_retryable(int status)
    {
        Assert.Equal(ErrorClass.Retryable, UpstreamError.FromHttpResponse(status, null, ReadOnlySpan<byte>.Empty).Classification);
    }

    [Fact]
    public void A_body_that_is_not_json_keeps_a_bounded_excerpt()
    {
        var html = Encoding.UTF8.GetBytes("<html><body>" + new string('x', 5000) + "</body></html>");
        var e = UpstreamError.FromHttpResponse(502, null, html);

        Assert.Equal(502, e.Status);
        Assert.StartsWith("<html><body>", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Length <= ProtocolException.MaxExcerptChars + 1);
        Assert.Equal(ErrorClass.Retryable, e.Classification);
        Assert.Equal("HTTP 504", UpstreamError.FromHttpResponse(504, null, ReadOnlySpan<byte>.Empty).Message);
    }

    [Theory]
    [InlineData(426, ErrorClass.ReplaySafe, true)]
    [InlineData(429, ErrorClass.ReplaySafe, false)]
    [InlineData(500, ErrorClass.ReplaySafe, false)]
    [InlineData(401, ErrorClass.Fatal, false)]
    [InlineData(403, ErrorClass.Fatal, false)]
    public void Refused_upgrades_are_replay_safe_unless_auth(int status, ErrorClass expected, bool upgradeRequired)
    {
        var e = UpstreamError.FromHttpResponse(status, null, """{"error":{"message":"no","type":"x","param":null,"code":null}}"""u8, refusedUpgrade: true);

        Assert.Equal(ErrorOrigin.RefusedUpgrade, e.Origin);
        Assert.Equal(expected, e.Classification);
        Assert.Equal(upgradeRequired, e.IsUpgradeRequired);
    }

    [Fact]
    public void Transport_failures_are_replay_safe()
    {
        var e = UpstreamError.FromTransport("Connection refused (127.0.0.1:1)");
        Assert.Equal(ErrorOrigin.Transport, e.Origin);
        Assert.True(e.IsReplaySafe);
    }
}
