using System.Globalization;
using System.Text.RegularExpressions;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// A strict reader of the Prometheus text exposition format (0.0.4) as scraped from <c>/metrics</c>: every line is a
/// comment (<c># HELP</c>, <c># TYPE</c>) or a sample, or the parse fails with the line.
/// </summary>
public sealed partial class PrometheusText
{
    private PrometheusText(IReadOnlyDictionary<string, string> types, IReadOnlyList<Sample> samples)
    {
        Types = types;
        Samples = samples;
    }

    /// <summary>Each metric family's declared type, by family name.</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static PrometheusText Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("# HELP ", StringComparison.Ordinal) || line == "# EOF")
            {
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                if (parts.Length != 4 || parts[3] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
                {
                    throw new FormatException($"Bad TYPE line: {line}");
                }

                if (!types.TryAdd(parts[2], parts[3]))
                {
                    throw new FormatException($"Family {parts[2]} declared twice");
                }

                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                throw new FormatException($"Not a sample: {line}");
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                var value = label.Groups["value"].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
                if (!labels.TryAdd(label.Groups["name"].Value, value))
                {
                    throw new FormatException($"Label {label.Groups["name"].Value} twice: {line}");
                }
            }

            var number = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, labels, number));
        }

        return new PrometheusText(types, samples);
    }

    /// <summary>Samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/> ("k=v" each).</summary>
    public IEnumerable<Sample> Find(string name, params string[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l =>
        {
            var at = l.IndexOf('=', StringComparison.Ordinal);
            return s.Labels.TryGetValue(l[..at], out var v) && v == l[(at + 1)..];
        }));

    /// <summary>The sum of the matching samples (0 when there are none).</summary>
    public double Sum(string name, params string[] labels) => Find(name, labels).Sum(s => s.Value);

    /// <summary>
    /// Checks a histogram family as Prometheus does: per label set, cumulative buckets in increasing <c>le</c> order
    /// that never decrease, a <c>+Inf</c> bucket equal to <c>_count</c>, and a <c>_sum</c>. Returns the label sets seen.
    /// </summary>
    public int CheckHistogram(string family)
    {
        if (!Types.TryGetValue(family, out var type) || type != "histogram")
        {
            throw new FormatException($"{family} is not declared a histogram");
        }

        var series = Samples.Where(s => s.Name == family + "_bucket")
            .GroupBy(s => Key(s.Labels.Where(l => l.Key != "le")), StringComparer.Ordinal)
            .ToList();
        foreach (var group in series)
        {
            var buckets = group.Select(s => (Le: double.Parse(s.Labels["le"] == "+Inf" ? "Infinity" : s.Labels["le"], NumberStyles.Float, CultureInfo.InvariantCulture), s.Value)).ToList();
            for (var i = 1; i < buckets.Count; i++)
            {
                if (buckets[i].Le <= buckets[i - 1].Le || buckets[i].Value < buckets[i - 1].Value)
                {
                    throw new FormatException($"{family}{{{group.Key}}}: buckets out of order at le={buckets[i].Le}");
                }
            }

            if (!double.IsPositiveInfinity(buckets[^1].Le))
            {
                throw new FormatException($"{family}{{{group.Key}}}: no +Inf bucket");
            }

            var count = Samples.Single(s => s.Name == family + "_count" && Key(s.Labels) == group.Key).Value;
            _ = Samples.Single(s => s.Name == family + "_sum" && Key(s.Labels) == group.Key);
            if (count != buckets[^1].Value)
            {
                throw new FormatException($"{family}{{{group.Key}}}: +Inf bucket {buckets[^1].Value} but count {count}");
            }
        }

        return series.Count;
    }

    private static string Key(IEnumerable<KeyValuePair<string, string>> labels) =>
        string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([^"}]|"(\\.|[^"\\])*")*)\})? (?<value>[-+]?([0-9.eE+-]+|Inf|NaN))( -?[0-9]+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)",?""")]
    private static partial Regex LabelPair();

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
}
