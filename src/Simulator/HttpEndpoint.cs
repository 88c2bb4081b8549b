using System.Globalization;
using Fantasy.Actors.Protocol;
using Microsoft.AspNetCore.Http;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// <c>POST /v1/responses</c>: <c>stream:true</c> answers with SSE (<c>event:</c>/<c>data:</c> blocks,
/// optionally a final <c>data: [DONE]</c>), otherwise with the JSON Response object. Errors use the
/// HTTP error body. There is no connection cache over HTTP: a <c>previous_response_id</c> resolves
/// only against the persisted store, and only for <c>store:true</c> requests.
/// </summary>
internal sealed class HttpEndpoint(SimulatorEngine engine)
{
    private const int MaxBodyBytes = 32 * 1024 * 1024;
    private long requestSeq;

    public async Task PostAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var requestId = "req_sim" + Interlocked.Increment(ref requestSeq).ToString("x8", CultureInfo.InvariantCulture);
        context.Response.Headers["x-request-id"] = requestId;
        if (!engine.Budget.Enabled)
        {
            context.Response.Headers["x-ratelimit-limit-requests"] = "10000";
            context.Response.Headers["x-ratelimit-remaining-requests"] = "9999";
            context.Response.Headers["x-ratelimit-limit-tokens"] = "1000000";
            context.Response.Headers["x-ratelimit-remaining-tokens"] = "999000";
        }

        byte[] body;
        try
        {
            body = await ReadBodyAsync(context.Request, ct).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            await WriteErrorAsync(context, SimError.Invalid(ex.Message), null).ConfigureAwait(false);
            return;
        }

        engine.Counters.HttpPost(body);
        if (engine.Faults.TakePostFailure() is { } failure)
        {
            await WriteErrorAsync(context, new SimError(failure.Status, failure.Type ?? CreateFrames.ErrorType(failure.Status),
                failure.Code ?? DefaultCode(failure.Status), failure.Message ?? DefaultMessage(failure.Status)), failure).ConfigureAwait(false);
            return;
        }

        ResponseRequest request;
        try
        {
            request = ResponseRequest.Parse(body);
        }
        catch (ProtocolException ex)
        {
            await WriteErrorAsync(context, SimError.Invalid(ex.Message), null).ConfigureAwait(false);
            return;
        }

        if (SimulatorEngine.Validate(request, webSocket: false) is { } invalid)
        {
            await WriteErrorAsync(context, invalid, null).ConfigureAwait(false);
            return;
        }

        if (engine.Admit(body.Length) is { } limited)
        {
            await WriteErrorAsync(context, limited, null).ConfigureAwait(false);
            return;
        }

        if (engine.Budget.Enabled)
        {
            // What remains after this request, on every admitted answer.
            foreach (var (name, value) in engine.Budget.Headers())
            {
                context.Response.Headers[name] = value;
            }
        }

        var faults = engine.Faults.TakeTurnFaults(FaultTransport.Http);
        if (faults.Error is { } injected)
        {
            await WriteErrorAsync(context, new SimError(injected.Status, CreateFrames.ErrorType(injected.Status), injected.Code, injected.Message), null)
                .ConfigureAwait(false);
            return;
        }

        var (resolution, notFound) = await engine.ResolveAsync(request, connectionCache: null, ct).ConfigureAwait(false);
        if (resolution is null)
        {
            await WriteErrorAsync(context, notFound!, null).ConfigureAwait(false);
            return;
        }

        var run = engine.Start(request, resolution);
        if (request.Stream == true)
        {
            await StreamAsync(context, run, faults, ct).ConfigureAwait(false);
        }
        else
        {
            foreach (var _ in run.Frames(faults.FailWithCode))
            {
                // The JSON reply is the terminal Response; the events only build it.
            }

            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(run.FinalResponse(), ct).ConfigureAwait(false);
        }

        if (run.FinalStatus != "failed" && !ct.IsCancellationRequested)
        {
            engine.Remember(request, resolution, run, run.ResponseId);
        }
    }

    private async Task StreamAsync(HttpContext context, ResponseRun run, TurnFaults faults, CancellationToken ct)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(ct).ConfigureAwait(false);
        if (engine.Faults.FirstEventLatency is { Ticks: > 0 } first)
        {
            await Task.Delay(first, ct).ConfigureAwait(false);
        }

        var sent = 0;
        foreach (var frame in run.Frames(faults.FailWithCode))
        {
            if (sent > 0 && engine.Faults.PerEventLatency is { Ticks: > 0 } perEvent)
            {
                await Task.Delay(perEvent, ct).ConfigureAwait(false);
            }

            await WriteEventAsync(context.Response, frame, ct).ConfigureAwait(false);
            sent++;
            if (faults.SseError is { } error && sent >= error.AfterEvents)
            {
                // The flat SSE error shape; the stream ends after it.
                using var buffer = new MemoryStream();
                using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
                {
                    w.WriteStartObject();
                    w.WriteString("type", "error");
                    w.WriteString("code", error.Code);
                    w.WriteString("message", error.Message);
                    w.WriteNull("param");
                    w.WriteNumber("sequence_number", sent);
                    w.WriteEndObject();
                }

                await WriteEventAsync(context.Response, buffer.ToArray(), ct).ConfigureAwait(false);
                return;
            }

            if (faults.CloseAfterEvents is { } closeAfter && sent >= closeAfter)
            {
                // The stream just ends, with no terminal event, after everything sent so far.
                return;
            }

            if (sent == 1)
            {
                if (faults.Stall is { } stall)
                {
                    await Task.Delay(stall, ct).ConfigureAwait(false);
                }

                if (faults.MalformedFrame)
                {
                    await WriteEventAsync(context.Response, "{\"type\":\"response.output_text.delta\",\"delta\":"u8.ToArray(), ct).ConfigureAwait(false);
                }

                if (faults.OversizedFrameBytes is { } size)
                {
                    await WriteEventAsync(context.Response, run.OversizedDelta(size), ct).ConfigureAwait(false);
                }
            }
        }

        if (engine.Options.SseDone)
        {
            await SseEventWriter.WriteDoneAsync(context.Response.Body, ct).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, byte[] json, CancellationToken ct)
    {
        // The SSE event name is the JSON type; a malformed payload gets the name "error" so it still frames.
        var type = TypeOf(json) ?? "error";
        await SseEventWriter.WriteAsync(response.Body, type, json, ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static string? TypeOf(byte[] json)
    {
        try
        {
            return EventParser.Parse(json).Type;
        }
        catch (ProtocolException)
        {
            return null;
        }
    }

    internal static async Task WriteErrorAsync(HttpContext context, SimError error, HttpFault? fault)
    {
        context.Response.StatusCode = error.Status;
        context.Response.ContentType = "application/json";
        foreach (var (name, value) in error.Headers ?? [])
        {
            context.Response.Headers[name] = value;
        }

        if (fault?.RetryAfter is { } ra)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        if (fault?.RetryAfterMs is { } ms)
        {
            context.Response.Headers["retry-after-ms"] = ((long)ms.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }

        if (fault?.ShouldRetry is { } should)
        {
            context.Response.Headers["x-should-retry"] = should ? "true" : "false";
        }

        await context.Response.Body.WriteAsync(error.ToHttpBody(), context.RequestAborted).ConfigureAwait(false);
    }

    internal static string DefaultCode(int status) => status switch
    {
        401 => "invalid_api_key",
        426 => "upgrade_required",
        429 => "rate_limit_exceeded",
        503 => "server_is_overloaded",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    internal static string DefaultMessage(int status) => status switch
    {
        426 => "WebSocket mode is not available at this endpoint.",
        429 => "Rate limit reached. Please try again in 1s.",
        503 => "Our servers are currently overloaded. Please try again later.",
        >= 500 => "The server had an error while processing your request.",
        _ => "The request was refused.",
    };

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new InvalidDataException($"The request body is larger than {MaxBodyBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
