using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Fantasy.Actors.Host;

/// <summary>
/// The gateway's own instruments (meter <see cref="MeterName"/>): turns by tenant, outcome and transport, and each
/// turn's latency as the HTTP client saw it. One meter per process, like the service's
/// (<see cref="Fantasy.Actors.Diagnostics.FantasyMetrics"/>): the Host's OpenTelemetry pipeline exports both, on
/// <c>/metrics</c> in Prometheus text and over OTLP when configured.
/// </summary>
internal static class GatewayMetrics
{
    public const string MeterName = "Fantasy.Actors.Host";

    private static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary><c>fantasy.turns</c>: every accepted turn once, by <c>tenant</c>, <c>outcome</c> and <c>transport</c>.</summary>
    public static readonly Counter<long> Turns = Meter.CreateCounter<long>("fantasy.turns", description: "turns ended, by tenant, outcome and transport");

    /// <summary><c>fantasy.turn.duration</c>: from the request's arrival to the turn's end, by <c>tenant</c> and <c>transport</c>.</summary>
    public static readonly Histogram<double> TurnDuration = Meter.CreateHistogram<double>("fantasy.turn.duration", "s", "time from request to the turn's end",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });

    private static readonly ConcurrentDictionary<TenantDirectory, byte> Directories = new();

    /// <summary>
    /// <c>fantasy.tenant.sessions</c>: each tenant's sessions as the gateway counts them against its limit (in cluster
    /// mode the replicated, cluster-wide count: the same on every node).
    /// </summary>
    public static readonly ObservableGauge<int> TenantSessions = Meter.CreateObservableGauge("fantasy.tenant.sessions",
        () => Directories.Keys.SelectMany(d => d.Tenants).Select(t => new Measurement<int>(t.SessionCount, new KeyValuePair<string, object?>("tenant", t.Options.Name))),
        description: "sessions per tenant, as counted against its limit");

    /// <summary><c>fantasy.tenant.session_limit</c>: each limited tenant's <c>MaxSessions</c>.</summary>
    public static readonly ObservableGauge<int> TenantSessionLimit = Meter.CreateObservableGauge("fantasy.tenant.session_limit",
        () => Directories.Keys.SelectMany(d => d.Tenants).Where(t => t.Options.MaxSessions is not null)
            .Select(t => new Measurement<int>(t.Options.MaxSessions!.Value, new KeyValuePair<string, object?>("tenant", t.Options.Name))),
        description: "a tenant's session limit (MaxSessions)");

    /// <summary><c>fantasy.tenant.rate_limited</c>: turns the gateway refused with 429 over a tenant's limits, by tenant and limit.</summary>
    public static readonly Counter<long> TenantRateLimited = Meter.CreateCounter<long>("fantasy.tenant.rate_limited",
        description: "turns refused with 429 over a tenant's limits (requests, tokens, concurrent)");

    /// <summary><c>fantasy.tenant.limit.wait</c>: time a turn waited for its tenant's limits before it started.</summary>
    public static readonly Histogram<double> TenantLimitWait = Meter.CreateHistogram<double>("fantasy.tenant.limit.wait", "s", "time turns waited for their tenant's limits",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    public static void LimitWaited(string tenant, TimeSpan waited) =>
        TenantLimitWait.Record(waited.TotalSeconds, new KeyValuePair<string, object?>("tenant", tenant));

    public static void LimitRefused(string tenant, string limit) =>
        TenantRateLimited.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("limit", limit));

    /// <summary>Reports the directory's tenants until <see cref="Forget"/>.</summary>
    internal static void Observe(TenantDirectory directory) => Directories[directory] = 0;

    internal static void Forget(TenantDirectory directory) => Directories.TryRemove(directory, out _);

    /// <summary>Counts one ended (or abandoned) turn and its duration.</summary>
    public static void TurnEnded(string tenant, string outcome, string transport, double seconds)
    {
        var tenantTag = new KeyValuePair<string, object?>("tenant", tenant);
        var transportTag = new KeyValuePair<string, object?>("transport", transport);
        Turns.Add(1, tenantTag, new KeyValuePair<string, object?>("outcome", outcome), transportTag);
        TurnDuration.Record(seconds, tenantTag, transportTag);
    }

    /// <summary><c>fantasy.passthrough.requests</c>: requests passed through to the upstream, by tenant, endpoint and status.</summary>
    public static readonly Counter<long> PassThrough = Meter.CreateCounter<long>("fantasy.passthrough.requests",
        description: "requests passed through to the upstream (models, retrieve, input tokens, compact, conversations, …)");

    /// <summary><c>fantasy.passthrough.duration</c>: time from request to the pass-through's answer.</summary>
    public static readonly Histogram<double> PassThroughDuration = Meter.CreateHistogram<double>("fantasy.passthrough.duration", "s", "time of requests passed through to the upstream",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    public static void PassedThrough(string tenant, string endpoint, int status, double seconds)
    {
        var tenantTag = new KeyValuePair<string, object?>("tenant", tenant);
        var endpointTag = new KeyValuePair<string, object?>("endpoint", endpoint);
        PassThrough.Add(1, tenantTag, endpointTag, new KeyValuePair<string, object?>("status", status));
        PassThroughDuration.Record(seconds, tenantTag, endpointTag);
    }
}
