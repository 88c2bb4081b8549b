using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary><c>POST /v1/responses</c>: one turn of a tenant's session, streamed (SSE) or as one Response object.</summary>
internal sealed class ResponsesEndpoint
{
    public static async Task CreateAsync(HttpContext context, GatewayOptions options, TurnGate gate, UpstreamInfo upstream, ILogger<ResponsesEndpoint> log)
    {
        var tenant = context.Tenant();

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

        // Entered before the session is taken: a turn refused by the drain leaves no session behind.
        if (!gate.TryEnter())
        {
            await ShuttingDownAsync(context);
            return;
        }

        // If the drain times out while this turn runs, its request is aborted: the turn is cancelled like any turn
        // whose client went away, and the server stops without waiting for it.
        using var abandoned = gate.Abandoned.UnsafeRegister(static c => ((HttpContext)c!).Abort(), context);
        bool admitted;
        try
        {
            admitted = await tenant.TryAddSessionAsync(conversation, ephemeral ? null : tenant.Options.MaxSessions, context.RequestAborted);
        }
        catch
        {
            gate.Exit();
            throw;
        }

        if (!admitted)
        {
            gate.Exit();
            await TurnErrors.WriteAsync(context, TurnErrors.For(Rejection.TenantSessionLimit, $"This tenant already has {tenant.Options.MaxSessions} sessions (its limit); close one with DELETE /v1/sessions/{{id}}."));
            return;
        }

        var key = new SessionKey(tenant.Options.Name, conversation);
        var turnOptions = new TurnOptions { GenerateWarmup = request.Generate == false, PassThrough = true };
        var requestId = "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers["x-request-id"] = requestId;
        var started = Stopwatch.GetTimestamp();
        TurnEnd? end = null;
        try
        {
            end = request.Stream == true
                ? await StreamAsync(context, tenant, key, request, turnOptions)
                : await RespondAsync(context, tenant, key, request, turnOptions);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            if (gate.Abandoned.IsCancellationRequested)
            {
                Logs.AbandonedAtShutdown(log, key.SessionId);
            }
            else
            {
                Logs.ClientDisconnected(log, key.SessionId);
            }
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
            var outcome = (end?.Outcome ?? TurnOutcome.Cancelled).Name();
            var transport = (end?.Transport ?? Transport.None).Name();
            GatewayMetrics.TurnEnded(tenant.Options.Name, outcome, transport, Stopwatch.GetElapsedTime(started).TotalSeconds);

            if (ephemeral)
            {
                await tenant.Sessions.CloseAsync(key, CancellationToken.None);
                await tenant.RemoveSessionAsync(conversation, admitted: false);
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
                    await SseEventWriter.WriteAsync(writer, e.Event.Type, Received(e.Event), context.RequestAborted);
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
            await SseEventWriter.WriteAsync(writer, "error", json, CancellationToken.None);
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

    private static Task ShuttingDownAsync(HttpContext context) =>
        TurnErrors.WriteAsync(context, TurnErrors.For(Rejection.ShuttingDown, null));
}
