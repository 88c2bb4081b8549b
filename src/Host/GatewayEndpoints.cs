using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>Counts running turns, refuses new ones once shutdown has begun, and says when the last one ended.</summary>
public sealed class TurnGate
{
    /// <summary>Set in <see cref="state"/> once shutdown began; the other bits count the running turns.</summary>
    private const int StoppingBit = 1 << 30;
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int state;

    public bool Stopping => (Volatile.Read(ref state) & StoppingBit) != 0;

    public int Running => Volatile.Read(ref state) & ~StoppingBit;

    /// <summary>Stops taking turns; the task completes when no turn is running.</summary>
    public Task StopAsync()
    {
        if ((Interlocked.Or(ref state, StoppingBit) & ~StoppingBit) == 0)
        {
            drained.TrySetResult();
        }

        return drained.Task;
    }

    /// <summary>Enters a turn unless shutdown has begun: checking and counting are one step, so no turn slips in after the drain.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            var current = Volatile.Read(ref state);
            if ((current & StoppingBit) != 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref state, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref state) == StoppingBit)
        {
            drained.TrySetResult();
        }
    }
}

/// <summary>
/// On shutdown (SIGTERM, Ctrl+C, <c>StopApplication</c>): stop taking turns, then wait (bounded by
/// <c>Fantasy:Gateway:DrainTimeout</c>) for the running ones. It runs in the host's stopping phase, before any
/// hosted service stops, so the server still answers new requests (503) and the actors still run the turns.
/// </summary>
internal sealed class DrainService(TurnGate gate, GatewayOptions options, ILogger<DrainService> log) : IHostedLifecycleService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (gate.Stopping)
        {
            // The host is stopped a second time (disposal after a signal): the drain already ran.
            return;
        }

        var started = Stopwatch.GetTimestamp();
        Logs.DrainStarted(log, gate.Running, options.DrainTimeout);
        try
        {
            await gate.StopAsync().WaitAsync(options.DrainTimeout, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Logs.DrainCompleted(log, elapsed);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            Logs.DrainTimedOut(log, gate.Running, options.DrainTimeout);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The gateway's HTTP API.</summary>
internal static class GatewayEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/v1/responses", CreateResponseAsync);
        app.MapGet("/v1/sessions", ListSessionsAsync);
        app.MapGet("/v1/sessions/{id}", GetSessionAsync);
        app.MapDelete("/v1/sessions/{id}", DeleteSessionAsync);
        app.MapGet("/healthz", HealthAsync);
        app.MapGet("/readyz", ReadyAsync);
        app.MapGet("/metrics", MetricsAsync);
    }

    private static TenantState? Authenticate(HttpContext context, GatewayOptions options, TenantDirectory directory)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
        return options.Authenticate(key) is { } tenant ? directory[tenant] : null;
    }

    private static Task ShuttingDownAsync(HttpContext context) =>
        TurnErrors.WriteAsync(context, TurnErrors.For(Rejection.ShuttingDown, null));

    private static Task UnauthorizedAsync(HttpContext context) =>
        context.Request.Headers.Authorization.Count == 0
            ? OpenAIErrors.WriteAsync(context, 401, "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", code: "missing_api_key")
            : OpenAIErrors.WriteAsync(context, 401, "Incorrect API key provided.", code: "invalid_api_key");

    private static async Task CreateResponseAsync(HttpContext context, GatewayOptions options, TenantDirectory directory, GatewayMetrics metrics, TurnGate gate, UpstreamInfo upstream, ILogger<GatewayOptions> log)
    {
        if (Authenticate(context, options, directory) is not { } tenant)
        {
            await UnauthorizedAsync(context);
            return;
        }

        if (gate.Stopping)
        {
            await ShuttingDownAsync(context);
            return;
        }

        var body = await ReadBodyAsync(context, options.MaxBodyBytes);
        if (body is null)
        {
            await OpenAIErrors.WriteAsync(context, 400, $"The request body is larger than the gateway's limit of {options.MaxBodyBytes} bytes (Fantasy:Gateway:MaxBodyBytes).", code: "request_too_large");
            return;
        }

        ResponseRequest request;
        try
        {
            request = ResponseRequest.Parse(body);

            // Parsed once; the bytes are not held for the rest of the turn (this method's locals live as long as it runs).
            body = null;
        }
        catch (ProtocolException ex)
        {
            await OpenAIErrors.WriteAsync(context, 400, $"Invalid request body: {ex.Message}", param: ex.Field, code: "invalid_json");
            return;
        }

        if (string.IsNullOrEmpty(request.Model))
        {
            await OpenAIErrors.WriteAsync(context, 400, "Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter");
            return;
        }

        var sessionHeader = context.Request.Headers["X-Session-Id"].ToString();
        var ephemeral = !context.Request.Headers.ContainsKey("X-Session-Id");
        if (!ephemeral && !SessionKey.IsValidPart(sessionHeader))
        {
            await OpenAIErrors.WriteAsync(context, 400, "X-Session-Id must be 1–128 characters of letters, digits, '_', '.', ':' or '-'.", param: "X-Session-Id", code: "invalid_session_id");
            return;
        }

        var conversation = ephemeral ? "eph-" + Guid.NewGuid().ToString("N") : sessionHeader;
        if (request.PreviousResponseId is { } previous && !tenant.Owns(previous))
        {
            await OpenAIErrors.WriteAsync(context, 404, $"Previous response with id '{previous}' not found.", param: "previous_response_id", code: "previous_response_not_found");
            return;
        }

        if (!tenant.TryAddSession(conversation, ephemeral ? null : tenant.Options.MaxSessions))
        {
            await TurnErrors.WriteAsync(context, TurnErrors.For(Rejection.TenantSessionLimit, $"This tenant already has {tenant.Options.MaxSessions} sessions (its limit); close one with DELETE /v1/sessions/{{id}}."));
            return;
        }

        var key = new SessionKey(tenant.Options.Name, conversation);
        var turnOptions = new TurnOptions { GenerateWarmup = request.Generate == false };
        var requestId = "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers["x-request-id"] = requestId;
        var started = Stopwatch.GetTimestamp();
        TurnEnd? end = null;
        if (!gate.TryEnter())
        {
            await ShuttingDownAsync(context);
            return;
        }

        try
        {
            end = request.Stream == true
                ? await StreamAsync(context, tenant, key, request, turnOptions)
                : await RespondAsync(context, tenant, key, request, turnOptions);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Logs.ClientDisconnected(log, key.SessionId);
        }
        finally
        {
            gate.Exit();
            if (end is not null)
            {
                tenant.Remember(end.ResponseId);
                upstream.Record(end);
            }

            // Every accepted turn is counted once: one the client abandoned before its end counts as cancelled.
            var outcome = end?.Outcome.ToString().ToLowerInvariant() ?? "cancelled";
            var transport = (end?.Transport ?? Transport.None).Name();
            metrics.Turns.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("transport", transport));
            metrics.TurnDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("transport", transport));

            if (ephemeral)
            {
                await tenant.Sessions.CloseAsync(key, CancellationToken.None);
                tenant.RemoveSession(conversation);
            }
        }
    }

    private static async Task<TurnEnd?> StreamAsync(HttpContext context, TenantState tenant, SessionKey key, ResponseRequest request, TurnOptions options)
    {
        TurnEnd? end = null;
        ServerEvent? last = null;
        TurnStarted? turnStarted = null;
        var writer = context.Response.Body;
        await foreach (var item in tenant.Sessions.RunTurnAsync(key, request, options, context.RequestAborted))
        {
            switch (item)
            {
                case TurnStarted started:
                    // The status line waits for the first event that is not an error: an error before any output is
                    // answered with its own HTTP status, body and Retry-After, as over HTTP, so SDKs can retry it.
                    turnStarted = started;
                    break;
                case TurnUpstreamEvent { Event: ErrorEvent } when !context.Response.HasStarted:
                    break;
                case TurnUpstreamEvent e:
                    if (!context.Response.HasStarted)
                    {
                        context.Response.StatusCode = 200;
                        context.Response.ContentType = "text/event-stream";
                        context.Response.Headers.CacheControl = "no-cache";
                        SetTurnHeaders(context.Response, turnStarted!);
                        await context.Response.StartAsync(context.RequestAborted);
                    }

                    last = e.Event;
                    await WriteSseAsync(writer, e.Event.Type, Received(e.Event), context.RequestAborted);
                    await writer.FlushAsync(context.RequestAborted);
                    break;
                case TurnFinished f:
                    end = f.End;
                    break;
            }
        }

        if (end is null)
        {
            return null;
        }

        if (!context.Response.HasStarted)
        {
            if (turnStarted is not null)
            {
                SetTurnHeaders(context.Response, turnStarted);
            }

            await WriteEndErrorAsync(context, end);
            return end;
        }

        if (end.Outcome is TurnOutcome.Failed or TurnOutcome.Cancelled && last is not (ResponseFailed or ErrorEvent or ResponseIncomplete))
        {
            // The stream broke after events: tell the client in the stream itself, as the API does.
            var error = end.Error ?? UpstreamError.FromTransport(end.Reason ?? "the turn failed");
            var json = OpenAIErrors.SseErrorEvent(end.Reason ?? error.Message, error.Code ?? "stream_interrupted", error.Param);
            await WriteSseAsync(writer, "error", json, CancellationToken.None);
            await writer.FlushAsync(CancellationToken.None);
        }

        return end;
    }

    private static async Task<TurnEnd?> RespondAsync(HttpContext context, TenantState tenant, SessionKey key, ResponseRequest request, TurnOptions options)
    {
        TurnEnd? end = null;
        ResponseEvent? terminal = null;
        await foreach (var item in tenant.Sessions.RunTurnAsync(key, request, options, context.RequestAborted))
        {
            switch (item)
            {
                case TurnStarted started:
                    SetTurnHeaders(context.Response, started);
                    break;
                case TurnUpstreamEvent { Event: ResponseCompleted or ResponseIncomplete or ResponseFailed or ResponseDone } e:
                    terminal = (ResponseEvent)e.Event;
                    break;
                case TurnFinished f:
                    end = f.End;
                    break;
            }
        }

        if (end is null)
        {
            return null;
        }

        if (terminal is not null && end.Outcome is TurnOutcome.Completed or TurnOutcome.Incomplete or TurnOutcome.Failed)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(JsonMarshal.GetRawUtf8Value(terminal.Response.Json).ToArray(), context.RequestAborted);
            return end;
        }

        await WriteEndErrorAsync(context, end);
        return end;
    }

    private static Task WriteEndErrorAsync(HttpContext context, TurnEnd end) =>
        TurnErrors.For(end) is { } error
            ? TurnErrors.WriteAsync(context, error)
            : OpenAIErrors.WriteUpstreamAsync(context, end.Error!, end.Retryable);

    private static void SetTurnHeaders(HttpResponse response, TurnStarted started)
    {
        response.Headers["x-fantasy-transport"] = started.Transport.Name();
        response.Headers["x-fantasy-chained"] = started.Chained ? "true" : "false";
    }

    /// <summary>The event's JSON exactly as the upstream sent it.</summary>
    private static ReadOnlyMemory<byte> Received(ServerEvent e) => !e.ReceivedJson.IsEmpty
        ? e.ReceivedJson
        : e is UnknownEvent u ? u.RawJson : throw new InvalidOperationException($"event {e.Type} has no received JSON; the gateway needs fantasy.connection.keep-raw-events = on");

    private static readonly ConcurrentDictionary<string, byte[]> SseHeads = new(StringComparer.Ordinal);

    /// <summary>One SSE frame, <c>event: type</c> and <c>data: json</c>, written without re-encoding the JSON.</summary>
    private static async Task WriteSseAsync(Stream body, string type, ReadOnlyMemory<byte> json, CancellationToken ct)
    {
        var head = SseHeads.GetOrAdd(type, static t => Encoding.UTF8.GetBytes("event: " + t + "\ndata: "));
        await body.WriteAsync(head, ct);
        await body.WriteAsync(json, ct);
        await body.WriteAsync(SseEnd, ct);
    }

    private static readonly byte[] SseEnd = "\n\n"u8.ToArray();

    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, long max)
    {
        if (context.Request.ContentLength > max)
        {
            return null;
        }

        if (context.Request.ContentLength is { } length)
        {
            // The usual case: read straight into one array of the announced size (no growing copies).
            var body = new byte[length];
            var filled = 0;
            while (filled < body.Length)
            {
                var n = await context.Request.Body.ReadAsync(body.AsMemory(filled), context.RequestAborted);
                if (n == 0)
                {
                    return body.AsSpan(0, filled).ToArray();
                }

                filled += n;
            }

            return body;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task ListSessionsAsync(HttpContext context, GatewayOptions options, TenantDirectory directory)
    {
        if (Authenticate(context, options, directory) is not { } tenant)
        {
            await UnauthorizedAsync(context);
            return;
        }

        var statuses = new List<(string Id, SessionStatus Status)>();
        foreach (var id in tenant.SessionIds.Order(StringComparer.Ordinal))
        {
            if (await tenant.Sessions.GetStatusAsync(new SessionKey(tenant.Options.Name, id), context.RequestAborted) is { } status)
            {
                statuses.Add((id, status));
            }
            else
            {
                tenant.RemoveSession(id);
            }
        }

        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var (id, status) in statuses)
        {
            WriteStatus(w, id, status);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static async Task GetSessionAsync(HttpContext context, string id, GatewayOptions options, TenantDirectory directory)
    {
        if (Authenticate(context, options, directory) is not { } tenant)
        {
            await UnauthorizedAsync(context);
            return;
        }

        var status = SessionKey.IsValidPart(id) && tenant.HasSession(id)
            ? await tenant.Sessions.GetStatusAsync(new SessionKey(tenant.Options.Name, id), context.RequestAborted)
            : null;
        if (status is null)
        {
            await OpenAIErrors.WriteAsync(context, 404, $"No session with id '{id}'.", param: "id", code: "session_not_found");
            return;
        }

        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        WriteStatus(w, id, status);
    }

    private static async Task DeleteSessionAsync(HttpContext context, string id, GatewayOptions options, TenantDirectory directory)
    {
        if (Authenticate(context, options, directory) is not { } tenant)
        {
            await UnauthorizedAsync(context);
            return;
        }

        var existed = SessionKey.IsValidPart(id) && tenant.HasSession(id)
                      && await tenant.Sessions.CloseAsync(new SessionKey(tenant.Options.Name, id), context.RequestAborted);
        if (!existed)
        {
            await OpenAIErrors.WriteAsync(context, 404, $"No session with id '{id}'.", param: "id", code: "session_not_found");
            return;
        }

        tenant.RemoveSession(id);
        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "session.deleted");
        w.WriteBoolean("deleted", true);
        w.WriteEndObject();
    }

    private static void WriteStatus(Utf8JsonWriter w, string id, SessionStatus s)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "session");
        w.WriteString("transport", s.Transport.Name());
        w.WriteString("transport_reason", s.TransportReason);
        w.WriteStartObject("connection");
        w.WriteNumber("epoch", s.ConnectionEpoch);
        w.WriteString("state", s.ConnectionState);
        if (s.ConnectionAge is { } age)
        {
            w.WriteNumber("age_seconds", Math.Round(age.TotalSeconds, 3));
        }
        else
        {
            w.WriteNull("age_seconds");
        }

        w.WriteEndObject();
        if (s.LastTurnChained is { } chained)
        {
            w.WriteBoolean("last_turn_chained", chained);
        }
        else
        {
            w.WriteNull("last_turn_chained");
        }

        w.WriteNumber("turns", s.Turns);
        w.WriteNumber("rotations", s.Rotations);
        w.WriteNumber("replays", s.Replays);
        w.WriteNumber("fallbacks", s.Fallbacks);
        w.WriteNumber("queue_length", s.QueueLength);

        // What the running turn's caller has been sent and not yet taken (bounded by the consumer window).
        w.WriteNumber("unread_events", s.UnreadEvents);
        w.WriteNumber("unread_bytes", s.UnreadBytes);
        w.WriteBoolean("busy", s.Busy);
        w.WriteEndObject();
    }

    /// <summary>Liveness: the process answers. Also what is known of the upstream, and what each figure rests on.</summary>
    private static async Task HealthAsync(HttpContext context, UpstreamInfo upstream, TurnGate gate) =>
        await WriteHealthAsync(context, upstream, gate, await upstream.CheckAsync(context.RequestAborted), ready: null);

    /// <summary>Readiness: 200 while new turns are taken and the upstream accepts a connection, 503 otherwise.</summary>
    private static async Task ReadyAsync(HttpContext context, UpstreamInfo upstream, TurnGate gate)
    {
        var check = await upstream.CheckAsync(context.RequestAborted);
        var ready = !gate.Stopping && check.Reachable;
        context.Response.StatusCode = ready ? 200 : 503;
        await WriteHealthAsync(context, upstream, gate, check, ready);
    }

    private static async Task WriteHealthAsync(HttpContext context, UpstreamInfo upstream, TurnGate gate, UpstreamCheck check, bool? ready)
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
        w.WriteBoolean("reachable", check.Reachable);
        w.WriteString("checked_at", check.At);
        if (check.Failure is { } failure)
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

    /// <summary>Prometheus text; by default only for loopback clients, or anyone with <c>Fantasy:Gateway:MetricsKey</c>.</summary>
    private static async Task MetricsAsync(HttpContext context, GatewayMetrics metrics, GatewayOptions options)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
        var keyOk = options.MetricsKey is { } key && presented is not null
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(presented));
        var loopback = context.Connection.RemoteIpAddress is { } ip && System.Net.IPAddress.IsLoopback(ip);
        if (!keyOk && (options.MetricsLoopbackOnly || options.MetricsKey is not null) && !(loopback && options.MetricsKey is null))
        {
            await OpenAIErrors.WriteAsync(context, 403,
                options.MetricsKey is null
                    ? "/metrics answers only loopback clients; set Fantasy:Gateway:MetricsKey to scrape it from elsewhere."
                    : "/metrics needs the metrics key as 'Authorization: Bearer <key>'.",
                code: "metrics_forbidden");
            return;
        }

        context.Response.ContentType = "text/plain; version=0.0.4";
        await context.Response.WriteAsync(metrics.ToPrometheusText(), context.RequestAborted);
    }
}

/// <summary>The result of one upstream check.</summary>
public sealed record UpstreamCheck(bool Reachable, DateTimeOffset At, string? Failure);

/// <summary>Where the upstream is, whether it answers a TCP connect, and what the turns last said of it.</summary>
public sealed class UpstreamInfo(Uri baseUrl, bool embedded)
{
    private readonly object gate = new();
    private DateTimeOffset? lastCompleted;
    private (DateTimeOffset At, string Code)? lastFailure;

    public Uri BaseUrl { get; } = baseUrl;

    public bool Embedded { get; } = embedded;

    /// <summary>When a turn last completed (any tenant), or null if none has since start.</summary>
    public DateTimeOffset? LastCompleted { get { lock (gate) { return lastCompleted; } } }

    /// <summary>When a turn last failed with an upstream or transport error, and its code.</summary>
    public (DateTimeOffset At, string Code)? LastFailure { get { lock (gate) { return lastFailure; } } }

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
                lastFailure = (DateTimeOffset.UtcNow, end.Error?.Code ?? "failed");
            }
        }
    }

    public async Task<UpstreamCheck> CheckAsync(CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var client = new TcpClient();
            await client.ConnectAsync(BaseUrl.Host, BaseUrl.Port, timeout.Token);
            return new UpstreamCheck(true, DateTimeOffset.UtcNow, null);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return new UpstreamCheck(false, DateTimeOffset.UtcNow, ex is SocketException se ? se.SocketErrorCode.ToString() : "timed out after 2 s");
        }
    }
}
