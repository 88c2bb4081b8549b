using System.Collections.Concurrent;
using System.Diagnostics;
using Fantasy.Actors.Diagnostics;

namespace Fantasy.Actors.Host.Tests;

/// <summary>W3C trace context from a client's request into the turn's span, through the gateway.</summary>
public sealed class TracingSpecs(GatewayFixture fx) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task A_turns_span_continues_the_trace_of_the_request_that_asked_for_it()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == TurnTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var trace = ActivityTraceId.CreateRandom();
        using var request = fx.Post("""{"model":"m-traced","input":"hello"}""", sessionId: "traced");
        request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        // A client that sends the traceparent above as it is (HttpClient would otherwise replace it with its own span's,
        // since the gateway's HttpClient instrumentation listens in this same process).
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null });
        using var response = await client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var span = Assert.Single(spans, s => (string?)s.GetTagItem("gen_ai.conversation.id") == "traced");
        Assert.Equal(trace, span.TraceId);
        Assert.Equal("chat m-traced", span.DisplayName);
        Assert.Equal("websocket", span.GetTagItem("fantasy.transport"));
    }
}
