using System.Diagnostics;
using System.Text.Json;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;
using Fantasy.Actors.Tests.Sessions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Xunit.Abstractions;

namespace Fantasy.Actors.Tests.Diagnostics;

/// <summary>A turn's span and metrics, captured by OpenTelemetry's in-memory exporters.</summary>
public sealed class TelemetrySpecs(ITestOutputHelper output) : SessionsTestKit("telemetry-specs", output)
{
    private static ResponseRequest Request(params string[] users) => new()
    {
        Model = "m-telemetry",
        Store = false,
        Input = [.. users.Select(u => JsonDocument.Parse(JsonSerializer.Serialize(new { type = "message", role = "user", content = u })).RootElement.Clone())],
    };

    /// <summary>The spans of one conversation (other specs run turns at the same time).</summary>
    private static List<Activity> Of(List<Activity> spans, string conversation) =>
        [.. spans.Where(a => (string?)a.GetTagItem("gen_ai.conversation.id") == conversation)];

    [Fact]
    public async Task A_chained_turn_has_a_client_span_with_the_GenAI_attributes_and_its_metrics()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource(TurnTelemetry.ActivitySourceName, "spec").AddInMemoryExporter(spans).Build();
        using var meter = Sdk.CreateMeterProviderBuilder().AddMeter(FantasyMetrics.MeterName).AddInMemoryExporter(metrics).Build();
        var key = new SessionKey("tenant-t", "chained");

        using var source = new ActivitySource("spec");
        ActivitySpanId parentSpan;
        using (var parent = source.StartActivity("request"))
        {
            parentSpan = parent!.SpanId;
            var first = Request("one");
            var firstEnd = await Sessions.RunTurnToEndAsync(key, first).WaitAsync(Patience);
            var second = Request("two");
            var end = await Sessions.RunTurnToEndAsync(key, second.WithInput([.. first.Input, .. firstEnd.Result.Output.Select(o => o.Json), .. second.Input])).WaitAsync(Patience);
            Assert.Equal(TurnOutcome.Completed, end.Outcome);
        }

        tracer.ForceFlush();
        var turns = Of(spans, "chained");
        Assert.Equal(2, turns.Count);
        var span = turns[1];
        Assert.Equal("chat m-telemetry", span.DisplayName);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal(parentSpan, span.ParentSpanId); // under the caller's activity: trace context flows in
        Assert.Equal(turns[0].TraceId, span.TraceId);
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("m-telemetry", span.GetTagItem("gen_ai.request.model"));
        Assert.StartsWith("resp_", (string)span.GetTagItem("gen_ai.response.id")!, StringComparison.Ordinal);
        Assert.True((long)span.GetTagItem("gen_ai.usage.input_tokens")! > 0);
        Assert.True((long)span.GetTagItem("gen_ai.usage.output_tokens")! > 0);
        Assert.Equal("websocket", span.GetTagItem("fantasy.transport"));
        Assert.Equal(true, span.GetTagItem("fantasy.chained"));
        Assert.Equal(false, turns[0].GetTagItem("fantasy.chained"));
        Assert.NotNull(span.GetTagItem("fantasy.time_to_first_event_ms"));
        Assert.Equal(false, span.GetTagItem("fantasy.replayed"));
        Assert.Equal(1L, span.GetTagItem("fantasy.connection.epoch"));
        Assert.True((int)span.GetTagItem("fantasy.upstream.bytes_sent")! > 0);
        Assert.Null(span.GetTagItem("fantasy.fallback.reason"));
        Assert.Null(span.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);

        meter.ForceFlush();
        Assert.Contains(metrics, m => m.Name == "gen_ai.client.token.usage");
        Assert.Contains(metrics, m => m.Name == "gen_ai.client.operation.duration");
        Assert.Contains(metrics, m => m.Name == "gen_ai.client.operation.time_to_first_chunk");
        Assert.Contains(metrics, m => m.Name == "fantasy.sessions.turns");
    }

    [Fact]
    public async Task A_fallback_turn_and_a_failed_turn_say_so_on_their_spans()
    {
        var spans = new List<Activity>();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource(TurnTelemetry.ActivitySourceName).AddInMemoryExporter(spans).Build();

        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        var fallback = await Sessions.RunTurnToEndAsync(new SessionKey("tenant-t", "fallback"), Request("over http")).WaitAsync(Patience);
        Assert.Equal(Transport.Http, fallback.Transport);

        var failed = await Sessions.RunTurnToEndAsync(new SessionKey("tenant-t", "failed"), Request("please FAIL")).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Failed, failed.Outcome);

        tracer.ForceFlush();
        var http = Assert.Single(Of(spans, "fallback"));
        Assert.Equal("http", http.GetTagItem("fantasy.transport"));
        Assert.Contains("426", (string)http.GetTagItem("fantasy.fallback.reason")!, StringComparison.Ordinal);
        Assert.Equal(0L, http.GetTagItem("fantasy.connection.epoch"));
        Assert.Null(http.GetTagItem("error.type"));

        var bad = Assert.Single(Of(spans, "failed"));
        Assert.Equal(ActivityStatusCode.Error, bad.Status);
        Assert.Equal("server_error", bad.GetTagItem("error.type"));
        Assert.Equal("failed", bad.GetTagItem("fantasy.outcome"));
    }
}
