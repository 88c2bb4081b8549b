using System.Diagnostics;
using System.Runtime.InteropServices;
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

        // Every answer to a tenant with limits says where it stands (x-ratelimit-*), as the API's answers do.
        TenantHeaders.Write(context, tenant.Limiter?.Headers());
        var (turn, refused) = await TurnRequest.ReadAsync(context, options, tenant);
        if (turn is null)
        {
            await TurnErrors.WriteAsync(context, refused!);
            return;
        }

        // Over the tenant's limits the turn waits (up to Limits:MaxWait) or is refused here, before any session or upstream.
        using var permit = await tenant.LimitAsync(turn.BodyBytes, context.RequestAborted);
        if (permit is { Granted: false })
        {
            await TenantHeaders.RefuseAsync(context, tenant, permit);
            return;
        }

        if (permit is not null)
        {
            GatewayMetrics.LimitWaited(tenant.Options.Name, permit.Waited);
            TenantHeaders.Write(context, tenant.Limiter!.Headers());
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
            admitted = await tenant.EnterAsync(turn, context.RequestAborted);
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

        var key = new SessionKey(tenant.Options.Name, turn.Conversation);
        var request = turn.Request;
        // A one-off session's turn is not recorded (nothing will continue it); its response id's owner still is.
        var turnOptions = new TurnOptions { GenerateWarmup = request.Generate == false, PassThrough = true, Durable = !turn.Ephemeral };
        context.Response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");
        var started = Stopwatch.GetTimestamp();
        TurnEnd? end = null;
        // Its response can be read (and cancelled) through /v1/responses/{id} once the upstream has created it.
        using var archived = new ArchivedTurn(tenant, turn, context.RequestAborted);
        try
        {
            end = request.Stream == true
                ? await StreamAsync(context, tenant, key, request, turnOptions, archived)
                : await RespondAsync(context, tenant, key, request, turnOptions, archived);
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
                upstream.Record(end);
                permit?.Used(end.Result.Usage?.TotalTokens);
            }

            // Every accepted turn is counted once: one the client abandoned before its end counts as cancelled.
            var outcome = (end?.Outcome ?? TurnOutcome.Cancelled).Name();
            var transport = (end?.Transport ?? Transport.None).Name();
            GatewayMetrics.TurnEnded(tenant.Options.Name, outcome, transport, Stopwatch.GetElapsedTime(started).TotalSeconds);
            await tenant.LeaveAsync(turn, end);
        }
    }

    private static async Task<TurnEnd?> StreamAsync(HttpContext context, TenantState tenant, SessionKey key, ResponseRequest request, TurnOptions options, ArchivedTurn archived)
    {
        TurnEnd? end = null;
        ServerEvent? last = null;
        TurnStarted? turnStarted = null;
        var writer = context.Response.BodyWriter;
        var unflushed = false;
        await using var items = tenant.Sessions.RunTurnAsync(key, request, options, archived.Token).GetAsyncEnumerator(archived.Token);
        while (true)
        {
            // Events that arrived together (one upstream read) go out in one flush: flushed when the next item is not
            // there yet, so a client sees each event as soon as nothing else is ready to go with it.
            var next = items.MoveNextAsync();
            if (unflushed && !next.IsCompleted)
            {
                try
                {
                    await writer.FlushAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client is gone: the turn's events end with the same token; let the pending read end before
                    // the enumerator is disposed (an async iterator cannot be disposed while a read is in flight).
                    try
                    {
                        await next;
                    }
                    catch (Exception)
                    {
                        // Ended by the same cancellation: the flush's is the one reported.
                    }

                    throw;
                }

                unflushed = false;
            }

            if (!await next)
            {
                break;
            }

            var item = items.Current;
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
                    archived.Seen(e.Event);
                    if (!context.Response.HasStarted)
                    {
                        context.Response.StatusCode = 200;
                        context.Response.ContentType = "text/event-stream";
                        context.Response.Headers.CacheControl = "no-cache";
                        SetTurnHeaders(context.Response, turnStarted!);
                        await context.Response.StartAsync(context.RequestAborted);
                    }

                    last = e.Event;
                    SseEventWriter.Write(writer, e.Event.Type, Received(e.Event).Span);
                    unflushed = true;
                    break;
                case TurnFinished f:
                    end = f.End;
                    break;
            }
        }

        if (unflushed)
        {
            await writer.FlushAsync(context.RequestAborted);
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
            var json = archived.CancelledByApi
                ? OpenAIErrors.SseErrorEvent($"The response was cancelled (POST /v1/responses/{archived.Response!.Id}/cancel).", "response_cancelled", null)
                : OpenAIErrors.SseErrorEvent(end.Reason ?? error.Message, error.Code ?? "stream_interrupted", error.Param);
            SseEventWriter.Write(writer, "error", json);
            await writer.FlushAsync(CancellationToken.None);
        }

        return end;
    }

    private static async Task<TurnEnd?> RespondAsync(HttpContext context, TenantState tenant, SessionKey key, ResponseRequest request, TurnOptions options, ArchivedTurn archived)
    {
        TurnEnd? end = null;
        ResponseEvent? terminal = null;
        await foreach (var item in tenant.Sessions.RunTurnAsync(key, request, options, archived.Token))
        {
            if (item is TurnUpstreamEvent seen)
            {
                archived.Seen(seen.Event);
            }

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

        // A response cancelled through the API is answered as the API answers a cancelled one: its Response object, status cancelled.
        var answer = terminal is not null && end.Outcome is TurnOutcome.Completed or TurnOutcome.Incomplete or TurnOutcome.Failed
            ? terminal.Response.Json
            : archived.CancelledByApi ? archived.Response!.Json : (System.Text.Json.JsonElement?)null;
        if (answer is { } json)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(JsonMarshal.GetRawUtf8Value(json).ToArray(), context.RequestAborted);
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

    internal static Task ShuttingDownAsync(HttpContext context) =>
        TurnErrors.WriteAsync(context, TurnErrors.For(Rejection.ShuttingDown, null));
}
