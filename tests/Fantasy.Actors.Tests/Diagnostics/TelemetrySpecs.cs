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
    private static ResponseRequest Request(string user, string model = "m-telemetry") => new()
    {
        Model = model,
        Store = false,
        Input = [JsonDocument.Parse(JsonSerializer.Serialize(new { type = "message", role = "user", content = user })).RootElement.Clone()],
    };

    /// <summary>
    /// Points of the histogram <paramref name="name"/> whose tags include <paramref name="tags"/> (a null value: the
    /// tag is absent), summed. Each spec uses a model of its own: the meter is the process's, other specs record too.
    /// </summary>
    private static long HistogramCount(List<Metric> metrics, string name, params (string Key, object? Value)[] tags)
    {
        long count = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var found = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var tag in point.Tags)
                {
                    found[tag.Key] = tag.Value;
                }

                if (tags.All(t => t.Value is null ? !found.ContainsKey(t.Key) : found.TryGetValue(t.Key, out var v) && Equals(v, t.Value)))
                {
                    count += point.GetHistogramCount();
                }
            }
        }

        return count;
    }

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
        var model = ("gen_ai.request.model", (object?)"m-telemetry");
        Assert.Equal(2, HistogramCount(metrics, "gen_ai.client.operation.duration", model, ("gen_ai.provider.name", "openai"), ("gen_ai.response.model", "m-telemetry"), ("error.type", null)));
        Assert.Equal(2, HistogramCount(metrics, "gen_ai.client.token.usage", model, ("gen_ai.token.type", "input")));
        Assert.Equal(2, HistogramCount(metrics, "gen_ai.client.token.usage", model, ("gen_ai.token.type", "output")));
        Assert.Equal(2, HistogramCount(metrics, "gen_ai.client.operation.time_to_first_chunk", model));
        Assert.Contains(metrics, m => m.Name == "fantasy.sessions.turns");
    }

    [Fact]
    public async Task A_fallback_turn_and_a_failed_turn_say_so_on_their_spans()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource(TurnTelemetry.ActivitySourceName).AddInMemoryExporter(spans).Build();
        using var meter = Sdk.CreateMeterProviderBuilder().AddMeter(FantasyMetrics.MeterName).AddInMemoryExporter(metrics).Build();

        Sim.Faults.RefuseUpgrades(new HttpFault(426));
        var fallback = await Sessions.RunTurnToEndAsync(new SessionKey("tenant-t", "fallback"), Request("over http", "m-fallback")).WaitAsync(Patience);
        Assert.Equal(Transport.Http, fallback.Transport);

        var failed = await Sessions.RunTurnToEndAsync(new SessionKey("tenant-t", "failed"), Request("please FAIL", "m-failed")).WaitAsync(Patience);
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

        // The fallback turn is an ordinary turn to the GenAI metrics (it used tokens, took time); the failed one
        // carries its error type; the fallback counter (a process total, read at collection) has counted it.
        meter.ForceFlush();
        Assert.Equal(1, HistogramCount(metrics, "gen_ai.client.operation.duration", ("gen_ai.request.model", "m-fallback"), ("error.type", null)));
        Assert.Equal(1, HistogramCount(metrics, "gen_ai.client.token.usage", ("gen_ai.request.model", "m-fallback"), ("gen_ai.token.type", "output")));
        Assert.Equal(1, HistogramCount(metrics, "gen_ai.client.operation.duration", ("gen_ai.request.model", "m-failed"), ("error.type", "server_error")));
        Assert.Equal(0, HistogramCount(metrics, "gen_ai.client.operation.duration", ("gen_ai.request.model", "m-failed"), ("error.type", null)));
        var fallbacks = Assert.Single(metrics, m => m.Name == "fantasy.fallbacks");
        Assert.Equal(MetricType.LongSum, fallbacks.MetricType);
        long total = 0;
        foreach (ref readonly var point in fallbacks.GetMetricPoints())
        {
            total += point.GetSumLong();
        }

        Assert.True(total >= 1, $"fantasy.fallbacks read {total} after a fallback turn");
    }
}
