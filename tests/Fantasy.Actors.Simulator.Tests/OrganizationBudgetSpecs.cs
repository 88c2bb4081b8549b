using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Simulator.Tests;

/// <summary>The organization's budget, shared by every connection and HTTP call, on a clock moved by hand.</summary>
public sealed class OrganizationBudgetSpecs
{
    private sealed class ManualTime : TimeProvider
    {
        private long ticks = TimeSpan.TicksPerDay;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref ticks, by.Ticks);
    }

    private static HttpClient Client(ResponsesSimulator sim)
    {
        var http = new HttpClient { BaseAddress = new Uri(sim.BaseUrl + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-test");
        return http;
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http) =>
        http.PostAsync("responses", new ByteArrayContent(Request([User("hi")], store: false).ToHttpBody(stream: false))
        {
            Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
        });

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    [Fact]
    public async Task Over_the_requests_per_minute_an_http_call_gets_429_saying_when_it_fits_and_every_answer_says_what_remains()
    {
        var time = new ManualTime();
        await using var sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { RequestsPerMinute = 2, Time = time });
        using var http = Client(sim);

        using (var first = await PostAsync(http))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal("2", Header(first, "x-ratelimit-limit-requests"));
            Assert.Equal("1", Header(first, "x-ratelimit-remaining-requests"));
            Assert.Equal("30s", Header(first, "x-ratelimit-reset-requests"));
        }

        using (var second = await PostAsync(http))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.Equal("0", Header(second, "x-ratelimit-remaining-requests"));
            Assert.Equal("1m0s", Header(second, "x-ratelimit-reset-requests"));
        }

        time.Advance(TimeSpan.FromSeconds(10));
        using (var third = await PostAsync(http))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Equal("20000", Header(third, "retry-after-ms"));
            Assert.Equal("20", Header(third, "retry-after"));
            var error = UpstreamError.FromHttpResponse(429, null, await third.Content.ReadAsByteArrayAsync());
            Assert.Equal("rate_limit_exceeded", error.Code);
            Assert.Contains("Please try again in 20s.", error.Message, StringComparison.Ordinal);
            var snapshot = RateLimitSnapshot.FromHeaders(third.Headers.Select(h => KeyValuePair.Create(h.Key, h.Value.Single())));
            Assert.Equal(new RateLimitBucket(2, 0, TimeSpan.FromSeconds(50)), snapshot!.Requests);
        }

        Assert.Equal(1, sim.Counters.RateLimitedRequests);
        time.Advance(TimeSpan.FromSeconds(20));
        using var fourth = await PostAsync(http);
        Assert.Equal(HttpStatusCode.OK, fourth.StatusCode);
    }

    [Fact]
    public async Task The_budget_is_shared_by_websocket_turns_and_http_calls_and_a_refused_frame_carries_status_error_and_headers()
    {
        var time = new ManualTime();
        await using var sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { RequestsPerMinute = 2, Time = time });
        await using var client = await SimClient.ConnectAsync(sim);
        using var http = Client(sim);

        await client.SendAsync(Request([User("one")], store: false).ToWebSocketFrame(null, [User("one")]));
        Assert.Equal(TurnStatus.Completed, (await client.ReadTurnAsync()).Result.Status);
        using (var ok = await PostAsync(http))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await client.SendAsync(Request([User("two")], store: false).ToWebSocketFrame(null, [User("two")]));
        var frame = (await client.ReceiveFrameAsync())!;
        using var doc = JsonDocument.Parse(frame);
        Assert.Equal("error", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal(429, doc.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("rate_limit_exceeded", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        var headers = doc.RootElement.GetProperty("headers");
        Assert.Equal("30000", headers.GetProperty("retry-after-ms").GetString());
        Assert.Equal("0", headers.GetProperty("x-ratelimit-remaining-requests").GetString());
        var error = UpstreamError.FromErrorEvent(frame);
        Assert.Equal(TimeSpan.FromSeconds(30), error.GetRetryAfter(DateTimeOffset.UtcNow));

        // The socket stays open: once the budget allows, the next turn runs on it.
        time.Advance(TimeSpan.FromSeconds(30));
        await client.SendAsync(Request([User("three")], store: false).ToWebSocketFrame(null, [User("three")]));
        Assert.Equal(TurnStatus.Completed, (await client.ReadTurnAsync()).Result.Status);
    }

    [Fact]
    public async Task Over_the_tokens_per_minute_a_large_request_waits_for_a_full_bucket_not_for_ever()
    {
        var time = new ManualTime();
        await using var sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { TokensPerMinute = 100, Time = time });
        using var http = Client(sim);
        var large = Request([User(new string('x', 2_000))], store: false).ToHttpBody(stream: false);
        Task<HttpResponseMessage> SendAsync() => http.PostAsync("responses", new ByteArrayContent(large) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } });

        using (var first = await SendAsync())
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode); // a full bucket admits it, and goes into debt
            Assert.Equal("0", Header(first, "x-ratelimit-remaining-tokens"));
        }

        using (var second = await SendAsync())
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
            var error = UpstreamError.FromHttpResponse(429, null, await second.Content.ReadAsByteArrayAsync());
            Assert.Contains("on tokens per min", error.Message, StringComparison.Ordinal);
            Assert.True(long.Parse(Header(second, "retry-after-ms"), System.Globalization.CultureInfo.InvariantCulture) > 60_000, "the debt is waited off before a full bucket");
        }

        time.Advance(TimeSpan.FromMinutes(10));
        using var third = await SendAsync();
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task Without_a_budget_nothing_is_refused_and_the_answers_keep_their_fixed_headers()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        using var http = Client(sim);
        for (var i = 0; i < 5; i++)
        {
            using var response = await PostAsync(http);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("10000", Header(response, "x-ratelimit-limit-requests"));
        }

        Assert.Equal(0, sim.Counters.RateLimitedRequests);
    }
}
