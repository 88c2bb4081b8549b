using System.Diagnostics.Metrics;

namespace Fantasy.Actors.Diagnostics;

/// <summary>
/// The service's instruments (meter <see cref="MeterName"/>), for any <c>System.Diagnostics.Metrics</c>
/// listener: OpenTelemetry, <c>dotnet-counters</c>, or the Host's Prometheus endpoint.
/// </summary>
public static class FantasyMetrics
{
    public const string MeterName = "Fantasy.Actors";

    private static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Request bytes sent upstream (WebSocket frames and HTTP bodies), by <c>transport</c>.</summary>
    public static readonly Counter<long> BytesSent = Meter.CreateCounter<long>("fantasy.upstream.bytes_sent", "By", "request bytes sent upstream");

    private static long rotations;
    private static long replays;
    private static long fallbacks;
    private static long openSockets;
    private static long openSessions;

    // Rotations, replays and fallbacks are totals read at each collection, like the two levels below: an exporter
    // reports them at 0 from its first collection, so a rate or an alert has a series before the first event.
    public static readonly ObservableCounter<long> Rotations = Meter.CreateObservableCounter("fantasy.rotations", () => Volatile.Read(ref rotations), description: "connections replaced before the server's lifetime limit");

    public static readonly ObservableCounter<long> Replays = Meter.CreateObservableCounter("fantasy.replays", () => Volatile.Read(ref replays), description: "turns resent with full input after a lost cache or a failed socket");

    public static readonly ObservableCounter<long> Fallbacks = Meter.CreateObservableCounter("fantasy.fallbacks", () => Volatile.Read(ref fallbacks), description: "turns served over HTTP");

    /// <summary>Open upstream WebSockets in this process: a level read at each collection, so it reads 0 before the first one.</summary>
    public static readonly ObservableUpDownCounter<long> OpenSockets = Meter.CreateObservableUpDownCounter("fantasy.sockets.open", () => Volatile.Read(ref openSockets), description: "open upstream WebSockets");

    /// <summary>Live sessions in this process, read at each collection like <see cref="OpenSockets"/>.</summary>
    public static readonly ObservableUpDownCounter<long> OpenSessions = Meter.CreateObservableUpDownCounter("fantasy.sessions.open", () => Volatile.Read(ref openSessions), description: "live sessions");

    /// <summary>Turns by outcome and transport (<c>fantasy.outcome</c>, <c>fantasy.transport</c>).</summary>
    public static readonly Counter<long> Turns = Meter.CreateCounter<long>("fantasy.sessions.turns", description: "turns ended through the sessions API, by outcome and transport");

    /// <summary>OpenTelemetry GenAI semantic conventions: tokens per turn, by <c>gen_ai.token.type</c> (input, output).</summary>
    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "tokens used per turn",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });

    /// <summary>OpenTelemetry GenAI semantic conventions: a turn's duration as its caller saw it, in seconds.</summary>
    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "turn duration",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });

    /// <summary>OpenTelemetry GenAI semantic conventions: time from the turn's start to its first upstream event, in seconds.</summary>
    public static readonly Histogram<double> TimeToFirstChunk = Meter.CreateHistogram<double>("gen_ai.client.operation.time_to_first_chunk", "s", "time to the first streamed event",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });

    /// <summary>Session records written, by <c>fantasy.result</c> (ok, failed, timeout).</summary>
    public static readonly Counter<long> RecordWrites = Meter.CreateCounter<long>("fantasy.persistence.writes", description: "completed turns' records written to the journal, by result");

    /// <summary>Time from a completed turn's end to its record being written (what the terminal waits), in seconds.</summary>
    public static readonly Histogram<double> RecordWriteDuration = Meter.CreateHistogram<double>("fantasy.persistence.write.duration", "s", "time a completed turn's terminal waited for its record",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    /// <summary>Time a starting session took to read its conversation (snapshot and events), in seconds.</summary>
    public static readonly Histogram<double> RecoveryDuration = Meter.CreateHistogram<double>("fantasy.persistence.recovery.duration", "s", "time a starting session took to read its recorded conversation",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    /// <summary>Turns the journal could not make durable: refused while it was unavailable, or run in memory (<c>fantasy.result</c>).</summary>
    public static readonly Counter<long> NotDurable = Meter.CreateCounter<long>("fantasy.persistence.not_durable", description: "turns refused or run in memory while the journal was unavailable");

    /// <summary>429 <c>rate_limit_exceeded</c> answers received from the upstream, by <c>fantasy.transport</c>.</summary>
    public static readonly Counter<long> UpstreamRateLimited = Meter.CreateCounter<long>("fantasy.upstream.rate_limited", description: "429 rate_limit_exceeded answers received from the upstream");

    /// <summary>Time a turn waited for its upstream credential's budget, by <c>fantasy.tenant</c>, in seconds.</summary>
    public static readonly Histogram<double> BudgetWait = Meter.CreateHistogram<double>("fantasy.upstream.budget.wait", "s", "time turns waited for the upstream's budget",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    /// <summary>Each credential's budget as last reported by its upstream (<c>fantasy.budget</c>, <c>fantasy.limit</c> requests or tokens).</summary>
    public static readonly ObservableGauge<long> BudgetRemaining = Meter.CreateObservableGauge("fantasy.upstream.budget.remaining", () => Limits.BudgetGauges.Remaining(), description: "what the upstream last said remains of a credential's budget");

    /// <summary>Turns waiting for their credential's budget, by <c>fantasy.budget</c> and <c>fantasy.tenant</c>.</summary>
    public static readonly ObservableUpDownCounter<long> BudgetWaiting = Meter.CreateObservableUpDownCounter("fantasy.upstream.budget.waiting", () => Limits.BudgetGauges.Waiting(), description: "turns waiting for the upstream's budget");

    /// <summary>
    /// Creates the instruments now (otherwise on the service's first use of them), so that an exporter started
    /// before the first session lists them from its first collection.
    /// </summary>
    public static void EnsureCreated() => _ = Meter;

    internal static void Rotated() => Interlocked.Increment(ref rotations);

    internal static void Replayed() => Interlocked.Increment(ref replays);

    internal static void FellBack() => Interlocked.Increment(ref fallbacks);

    internal static void SocketOpened() => Interlocked.Increment(ref openSockets);

    internal static void SocketClosed() => Interlocked.Decrement(ref openSockets);

    internal static void SessionStarted() => Interlocked.Increment(ref openSessions);

    internal static void SessionStopped() => Interlocked.Decrement(ref openSessions);
}
