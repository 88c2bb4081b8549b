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

    public static readonly Counter<long> Rotations = Meter.CreateCounter<long>("fantasy.rotations", description: "connections replaced before the server's lifetime limit");

    public static readonly Counter<long> Replays = Meter.CreateCounter<long>("fantasy.replays", description: "turns resent with full input after a lost cache or a failed socket");

    public static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>("fantasy.fallbacks", description: "turns served over HTTP");

    public static readonly UpDownCounter<long> OpenSockets = Meter.CreateUpDownCounter<long>("fantasy.sockets.open", description: "open upstream WebSockets");

    public static readonly UpDownCounter<long> OpenSessions = Meter.CreateUpDownCounter<long>("fantasy.sessions.open", description: "live sessions");
}
