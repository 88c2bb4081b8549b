using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;

namespace Fantasy.Actors.Host;

/// <summary><c>/healthz</c> (liveness), <c>/readyz</c> (readiness) and <c>/metrics</c>.</summary>
internal static class HealthEndpoints
{
    /// <summary>
    /// Liveness: the process answers, at once. It reaches for nothing outside the process (a probe that waited on
    /// the upstream could time out and get a healthy process restarted); it reports the last readiness check and
    /// what the turns last said of the upstream.
    /// </summary>
    public static Task HealthAsync(HttpContext context, UpstreamInfo upstream, TurnGate gate, IResponsesSessions sessions) =>
        WriteHealthAsync(context, upstream, gate, upstream.LastCheck, ready: null, sessions as ResponsesSessions, storeProblem: null);

    /// <summary>
    /// Readiness: 200 while new turns are taken, the upstream accepts a connection and (with persistence) the
    /// conversation store answers a query; 503 otherwise, with the reason.
    /// </summary>
    public static async Task ReadyAsync(HttpContext context, UpstreamInfo upstream, TurnGate gate, IResponsesSessions sessions)
    {
        var check = await upstream.CheckAsync(context.RequestAborted);
        var durable = sessions as ResponsesSessions;
        var storeProblem = durable?.Records is { } records ? await records.CheckAsync(context.RequestAborted) : null;
        var ready = !gate.Stopping && check.Reachable && storeProblem is null;
        context.Response.StatusCode = ready ? 200 : 503;
        await WriteHealthAsync(context, upstream, gate, check, ready, durable, storeProblem);
    }

    private static async Task WriteHealthAsync(HttpContext context, UpstreamInfo upstream, TurnGate gate, UpstreamCheck? check, bool? ready, ResponsesSessions? sessions, string? storeProblem)
    {
        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("status", ready switch { null => "ok", true => "ready", false => "not_ready" });
        w.WriteBoolean("draining", gate.Stopping);
        w.WriteNumber("running_turns", gate.Running);
        w.WriteStartObject("upstream");
        w.WriteString("base_url", upstream.BaseUrl.ToString());
        w.WriteBoolean("embedded_simulator", upstream.Embedded);

        // What "reachable" means: a TCP connection to the upstream's host and port was accepted just now; it
        // says nothing of the API behind it. The turns say that: when one last completed, and the last failure.
        w.WriteString("check", "tcp_connect");
        if (check is null)
        {
            w.WriteNull("reachable"); // no readiness check has run yet
        }
        else
        {
            w.WriteBoolean("reachable", check.Reachable);
        }

        WriteTime(w, "checked_at", check?.At);
        if (check?.Failure is { } failure)
        {
            w.WriteString("check_failure", failure);
        }

        WriteTime(w, "last_turn_completed_at", upstream.LastCompleted);
        if (upstream.LastFailure is { } last)
        {
            w.WriteStartObject("last_turn_failure");
            w.WriteString("at", last.At);
            w.WriteString("code", last.Code);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        WritePersistence(w, sessions, storeProblem, checkedNow: ready is not null);
        w.WriteEndObject();
    }

    /// <summary>The conversation store: which, whether the sessions' last write or read worked, and (readiness) whether it answers now.</summary>
    private static void WritePersistence(Utf8JsonWriter w, ResponsesSessions? sessions, string? storeProblem, bool checkedNow)
    {
        var settings = sessions?.Settings.Persistence;
        w.WriteStartObject("persistence");
        w.WriteString("provider", (settings?.Provider ?? Configuration.PersistenceProvider.None).ToString().ToLowerInvariant());
        if (settings is { Enabled: true } && sessions is not null)
        {
            var journal = sessions.Journal;
            w.WriteBoolean("available", journal.Available && storeProblem is null);
            if (checkedNow)
            {
                w.WriteBoolean("reachable", storeProblem is null);
            }

            if ((storeProblem ?? journal.Problem) is { } problem)
            {
                w.WriteString("problem", problem);
            }

            WriteTime(w, "down_since", journal.DownSince);
            w.WriteNumber("writes", journal.Writes);
            w.WriteNumber("failed_writes", journal.FailedWrites);
            w.WriteNumber("slow_writes", journal.SlowWrites);
            w.WriteString("on_failure", settings.OnFailure == Configuration.PersistenceFailureMode.InMemory ? "in-memory" : "refuse");
        }

        w.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? at)
    {
        if (at is { } value)
        {
            w.WriteString(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>
    /// Who may scrape <c>/metrics</c>: with <c>Fantasy:Gateway:MetricsKey</c>, whoever presents it (loopback included);
    /// without one, loopback clients (or anyone, with <c>MetricsLoopbackOnly=false</c>). Others get a 403 error body.
    /// Runs in front of the Prometheus exporter's branch of the pipeline.
    /// </summary>
    public static async Task<bool> AuthorizeMetricsAsync(HttpContext context, GatewayOptions options)
    {
        var allowed = options.MetricsKey is { } key
            ? TenantAuthentication.PresentedKey(context.Request) is { } presented
              && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(presented))
            : !options.MetricsLoopbackOnly || (context.Connection.RemoteIpAddress is { } ip && System.Net.IPAddress.IsLoopback(ip));
        if (!allowed)
        {
            await OpenAIErrors.WriteAsync(context, 403,
                options.MetricsKey is null
                    ? "/metrics answers only loopback clients; set Fantasy:Gateway:MetricsKey to scrape it from elsewhere."
                    : "/metrics needs the metrics key as 'Authorization: Bearer <key>'.",
                code: "metrics_forbidden");
        }

        return allowed;
    }
}

/// <summary>The result of one upstream check.</summary>
internal sealed record UpstreamCheck(bool Reachable, DateTimeOffset At, string? Failure);

/// <summary>Where the upstream is, whether it answers a TCP connect, and what the turns last said of it.</summary>
internal sealed class UpstreamInfo(Uri baseUrl, bool embedded)
{
    private readonly object gate = new();
    private DateTimeOffset? lastCompleted;
    private UpstreamCheck? lastCheck;
    private (DateTimeOffset At, string Code)? lastFailure;

    public Uri BaseUrl { get; } = baseUrl;

    public bool Embedded { get; } = embedded;

    /// <summary>When a turn last completed (any tenant), or null if none has since start.</summary>
    public DateTimeOffset? LastCompleted { get { lock (gate) { return lastCompleted; } } }

    /// <summary>When a turn last failed with an upstream or transport error, and its code.</summary>
    public (DateTimeOffset At, string Code)? LastFailure { get { lock (gate) { return lastFailure; } } }

    /// <summary>The last readiness check, or null before the first.</summary>
    public UpstreamCheck? LastCheck => Volatile.Read(ref lastCheck);

    /// <summary>Records how a turn ended.</summary>
    public void Record(TurnEnd end)
    {
        lock (gate)
        {
            if (end.Outcome is TurnOutcome.Completed or TurnOutcome.Incomplete)
            {
                lastCompleted = DateTimeOffset.UtcNow;
            }
            else if (end.Outcome == TurnOutcome.Failed)
            {
                lastFailure = (DateTimeOffset.UtcNow, end.Error?.Code ?? TurnOutcome.Failed.Name());
            }
        }
    }

    /// <summary>Connects to the upstream's host and port (at most 2 s) and keeps the result as <see cref="LastCheck"/>.</summary>
    public async Task<UpstreamCheck> CheckAsync(CancellationToken ct)
    {
        UpstreamCheck check;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var client = new TcpClient();
            await client.ConnectAsync(BaseUrl.Host, BaseUrl.Port, timeout.Token);
            check = new UpstreamCheck(true, DateTimeOffset.UtcNow, null);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            check = new UpstreamCheck(false, DateTimeOffset.UtcNow, ex is SocketException se ? se.SocketErrorCode.ToString() : "timed out after 2 s");
        }

        Volatile.Write(ref lastCheck, check);
        return check;
    }
}
