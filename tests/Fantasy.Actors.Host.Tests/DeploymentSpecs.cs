using System.Text.RegularExpressions;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// The Dockerfile and the Kubernetes manifests cannot run here; they are kept consistent with the gateway instead: every
/// <c>Fantasy__*</c> variable they set is a setting the gateway reads (as <c>--help</c> lists them), the probes are its
/// health endpoints, the grace period outlasts the drain, and the image runs as a non-root user stopped by SIGTERM.
/// </summary>
public sealed partial class DeploymentSpecs
{
    private static readonly string Root = HostProcess.RepositoryRoot();

    /// <summary>The settings <c>fantasy-gateway --help</c> lists, with <c>&lt;name&gt;</c> and <c>&lt;n&gt;</c> for tenants and indexes.</summary>
    private static HashSet<string> KnownKeys()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in GatewayHelp.Text.Split('\n'))
        {
            var m = HelpKeys().Match(line);
            if (!m.Success)
            {
                continue;
            }

            var first = m.Groups["first"].Value;
            keys.Add(first);
            var prefix = first[..(first.IndexOf(':', "Fantasy:".Length) + 1)];
            if (first.Contains(":Limits:", StringComparison.Ordinal))
            {
                prefix = first[..(first.LastIndexOf(':') + 1)];
            }

            foreach (Capture more in m.Groups["more"].Captures)
            {
                keys.Add(prefix + more.Value);
            }
        }

        return keys;
    }

    private static string Normalised(string variable)
    {
        var parts = variable.Split("__");
        for (var i = 0; i < parts.Length; i++)
        {
            if (int.TryParse(parts[i], out _))
            {
                parts[i] = "<n>";
            }
            else if (i == 2 && parts[1] == "Tenants")
            {
                parts[i] = "<name>";
            }
        }

        return string.Join(':', parts);
    }

    [Fact]
    public void Every_setting_the_manifests_and_the_image_set_is_one_the_gateway_reads()
    {
        var known = KnownKeys();
        Assert.Contains("Fantasy:Persistence:ConnectionString", known); // the reader of --help works
        Assert.Contains("Fantasy:Cluster:SeedNodes:<n>", known);

        var sources = new[] { Path.Combine(Root, "Dockerfile") }
            .Concat(Directory.GetFiles(Path.Combine(Root, "deploy"), "*.yaml", SearchOption.AllDirectories));
        var checkedAny = 0;
        foreach (var file in sources)
        {
            foreach (Match m in Variables().Matches(File.ReadAllText(file)))
            {
                var key = Normalised(m.Value);
                Assert.True(known.Contains(key), $"{Path.GetFileName(file)} sets {m.Value} ({key}), which the gateway does not read");
                checkedAny++;
            }
        }

        Assert.True(checkedAny >= 10, $"only {checkedAny} settings found: the check proves little");
    }

    [Fact]
    public void The_manifests_probe_the_health_endpoints_and_outlast_the_drain()
    {
        var yaml = File.ReadAllText(Path.Combine(Root, "deploy", "kubernetes", "gateway.yaml"));
        Assert.Matches(@"livenessProbe:\s+httpGet:\s+path: /healthz", yaml);
        Assert.Matches(@"readinessProbe:\s+httpGet:\s+path: /readyz", yaml);
        var grace = int.Parse(Regex.Match(yaml, @"terminationGracePeriodSeconds: (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var drain = TimeSpan.Parse(Regex.Match(yaml, "Fantasy__Gateway__DrainTimeout\\s+value: \"([^\"]+)\"").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var preStop = int.Parse(Regex.Match(yaml, @"command: \[""sleep"", ""(\d+)""\]").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(grace > drain.TotalSeconds + preStop, $"terminationGracePeriodSeconds {grace} does not outlast the drain ({drain}) and the preStop pause ({preStop} s)");

        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build", dockerfile);
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0$", dockerfile);
        Assert.Matches(@"(?m)^USER app$", dockerfile);
        Assert.Matches(@"(?m)^STOPSIGNAL SIGTERM$", dockerfile);
        Assert.Matches(@"(?m)^VOLUME /data$", dockerfile);
        Assert.Contains("Data Source=/data/fantasy.db", dockerfile, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Fantasy__[A-Za-z0-9_]+")]
    private static partial Regex Variables();

    [GeneratedRegex(@"^\s+(?<first>Fantasy:[A-Za-z<>:]+)(?:\s+/\s+(?<more>[A-Za-z]+(?::<n>)?))*")]
    private static partial Regex HelpKeys();
}
