using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Fantasy.Actors.Diagnostics;

namespace Fantasy.Actors.Host;

/// <summary>
/// The gateway's instruments (turns by outcome and transport, turn latency) and a
/// <see cref="MeterListener"/> that aggregates them together with the service's own (<see cref="FantasyMetrics"/>)
/// into Prometheus text for <c>GET /metrics</c>.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Fantasy.Actors.Host";

    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private readonly Meter meter = new(MeterName, "1.0");
    private readonly MeterListener listener = new();
    private readonly ConcurrentDictionary<(string Name, string Labels), long> sums = new();
    private readonly ConcurrentDictionary<string, string> kinds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> help = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Name, string Labels), Histogram> histograms = new();

    public GatewayMetrics()
    {
        Turns = meter.CreateCounter<long>("fantasy.turns", description: "turns ended, by outcome and transport");
        TurnDuration = meter.CreateHistogram<double>("fantasy.turn.duration", "s", "time from request to the turn's end");
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name is MeterName or FantasyMetrics.MeterName)
            {
                var name = PrometheusName(instrument);
                kinds[name] = instrument is Histogram<double> or Histogram<long> ? "histogram" : instrument.GetType().Name.StartsWith("UpDown", StringComparison.Ordinal) ? "gauge" : "counter";
                help[name] = instrument.Description ?? instrument.Name;
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument is Histogram<long> counts)
            {
                // A histogram of counts (gen_ai.client.token.usage): its own bucket bounds.
                var bounds = counts.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray() ?? Buckets;
                histograms.GetOrAdd((PrometheusName(instrument), Labels(tags)), _ => new Histogram(bounds)).Record(value);
                return;
            }

            sums.AddOrUpdate((PrometheusName(instrument), Labels(tags)), value, (_, old) => old + value);
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            histograms.GetOrAdd((PrometheusName(instrument), Labels(tags)), _ => new Histogram(((Histogram<double>)instrument).Advice?.HistogramBucketBoundaries?.ToArray() ?? Buckets)).Record(value));
        // The service's instruments exist from its first use; make them exist now, so a fresh gateway lists them at 0.
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(FantasyMetrics).TypeHandle);
        listener.Start();
    }

    public Counter<long> Turns { get; }

    public Histogram<double> TurnDuration { get; }

    /// <summary>Everything measured so far, in the Prometheus text exposition format.</summary>
    public string ToPrometheusText()
    {
        var text = new StringBuilder();
        foreach (var (name, kind) in kinds.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help[name]).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(kind).Append('\n');
            if (kind == "histogram")
            {
                foreach (var ((_, labels), h) in histograms.Where(h => h.Key.Name == name).OrderBy(h => h.Key.Labels, StringComparer.Ordinal))
                {
                    h.Write(text, name, labels);
                }

                continue;
            }

            var any = false;
            foreach (var ((_, labels), value) in sums.Where(s => s.Key.Name == name).OrderBy(s => s.Key.Labels, StringComparer.Ordinal))
            {
                text.Append(name).Append(labels.Length > 0 ? "{" + labels + "}" : string.Empty).Append(' ')
                    .Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
                any = true;
            }

            if (!any)
            {
                text.Append(name).Append(" 0\n");
            }
        }

        return text.ToString();
    }

    public void Dispose()
    {
        listener.Dispose();
        meter.Dispose();
    }

    private static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        if (instrument.Unit == "s")
        {
            name += "_seconds";
        }
        else if (instrument.Unit == "By")
        {
            name += "_bytes";
        }

        return instrument is Counter<long> ? name + "_total" : name;
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var parts = new List<string>(tags.Length);
        foreach (var tag in tags)
        {
            var value = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty;
            parts.Add($"{tag.Key.Replace('.', '_')}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join(',', parts);
    }

    private sealed class Histogram
    {
        private readonly double[] bounds;
        private readonly long[] counts;

        public Histogram(double[] bounds)
        {
            this.bounds = bounds;
            counts = new long[bounds.Length];
        }
        private long count;
        private double sum;
        private readonly Lock gate = new();

        public void Record(double value)
        {
            lock (gate)
            {
                count++;
                sum += value;
                for (var i = 0; i < bounds.Length; i++)
                {
                    if (value <= bounds[i])
                    {
                        counts[i]++;
                    }
                }
            }
        }

        public void Write(StringBuilder text, string name, string labels)
        {
            lock (gate)
            {
                var prefix = labels.Length > 0 ? labels + "," : string.Empty;
                for (var i = 0; i < bounds.Length; i++)
                {
                    text.Append(name).Append("_bucket{").Append(prefix).Append("le=\"").Append(bounds[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                        .Append(counts[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
                }

                text.Append(name).Append("_bucket{").Append(prefix).Append("le=\"+Inf\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                var suffix = labels.Length > 0 ? "{" + labels + "}" : string.Empty;
                text.Append(name).Append("_sum").Append(suffix).Append(' ').Append(sum.ToString(CultureInfo.InvariantCulture)).Append('\n');
                text.Append(name).Append("_count").Append(suffix).Append(' ').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
    }
}
