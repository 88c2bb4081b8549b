using System.Diagnostics;
using System.Text.Json;

namespace Fantasy.Actors.Host;

/// <summary>
/// Everything under <c>/v1</c> the gateway does not answer itself, passed through to the tenant's upstream
/// (<see cref="UpstreamProxy"/>) with the same tenant limits, drain, logging and metrics as turns. Ids stay with their
/// tenant: a response or conversation id another tenant created is answered 404, as the API answers an unknown id.
/// </summary>
internal static class PassThroughEndpoints
{
    /// <summary>Any method on <c>/v1/{**rest}</c> not mapped elsewhere.</summary>
    public static async Task ForwardAsync(HttpContext context, UpstreamProxy proxy, GatewayOptions options, TurnGate gate)
    {
        var tenant = context.Tenant();
        var rest = Rest(context);
        var segments = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (tenant.Upstream is not { } target || !target.Own && !options.SharedPassThrough.Any(allowed => Under(segments, allowed)))
        {
            await OpenAIErrors.WriteAsync(context, 404, $"Invalid URL ({context.Request.Method} {context.Request.Path}): not passed through for tenants on the gateway's shared upstream key (Fantasy:Gateway:SharedPassThrough).").ConfigureAwait(false);
            return;
        }

        var method = context.Request.Method;
        switch (segments)
        {
            case ["responses", var id, ..] when id is not ("input_tokens" or "compact"):
                if (!await MayReachResponseAsync(context, tenant, id).ConfigureAwait(false))
                {
                    return;
                }

                break;
            case ["conversations", var id, ..]:
                if (!await MayReachConversationAsync(context, tenant, id).ConfigureAwait(false))
                {
                    return;
                }

                break;
            case ["models"] when HttpMethods.IsGet(method) && !context.Request.QueryString.HasValue:
                await RunAsync(context, tenant, gate, "models", () => proxy.ModelsAsync(context, target)).ConfigureAwait(false);
                return;
        }

        // The answers whose ids the gateway records: a conversation created is the tenant's; a deletion forgets the id.
        var aborted = context.RequestAborted;
        Func<int, ReadOnlyMemory<byte>, Task>? onAnswer = segments switch
        {
            ["conversations"] when HttpMethods.IsPost(method) => (status, body) =>
                status == 200 && IdIn(body) is { } created ? tenant.RememberConversationAsync(created, aborted) : Task.CompletedTask,
            ["conversations", var id] when HttpMethods.IsDelete(method) => (status, _) =>
                status == 200 ? tenant.ForgetConversationAsync(id, aborted) : Task.CompletedTask,
            ["responses", var id] when HttpMethods.IsDelete(method) => (status, _) =>
                status == 200 ? tenant.ForgetAsync(id, aborted) : Task.CompletedTask,
            _ => null,
        };
        await RunAsync(context, tenant, gate, Endpoint(segments), () => proxy.ForwardAsync(context, target, rest, onAnswer)).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /v1/responses/input_tokens</c> and <c>/compact</c>: the body's <c>previous_response_id</c> and
    /// <c>conversation</c> must be the tenant's (as for a turn), then the request is passed through.
    /// </summary>
    public static async Task CheckedBodyAsync(HttpContext context, UpstreamProxy proxy, GatewayOptions options, TurnGate gate)
    {
        var tenant = context.Tenant();
        if (context.Request.ContentLength > options.MaxBodyBytes)
        {
            await OpenAIErrors.WriteAsync(context, 413, $"The request body is larger than the gateway's limit of {options.MaxBodyBytes} bytes (Fantasy:Gateway:MaxBodyBytes).", code: "request_too_large").ConfigureAwait(false);
            return;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        string? previous = null;
        string? conversation = null;
        try
        {
            using var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                var root = document.RootElement;
                previous = root.TryGetProperty("previous_response_id", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
                conversation = root.TryGetProperty("conversation", out var c)
                    ? c.ValueKind == JsonValueKind.String ? c.GetString()
                    : c.ValueKind == JsonValueKind.Object && c.TryGetProperty("id", out var cid) && cid.ValueKind == JsonValueKind.String ? cid.GetString() : null
                    : null;
            }
        }
        catch (JsonException e)
        {
            await OpenAIErrors.WriteAsync(context, 400, $"Invalid request body: {e.Message}", code: "invalid_json").ConfigureAwait(false);
            return;
        }

        if (tenant.Upstream is { Own: false } && previous is not null)
        {
            switch (await tenant.OwnsAsync(previous, context.RequestAborted).ConfigureAwait(false))
            {
                case false:
                    await OpenAIErrors.WriteAsync(context, 400, $"Previous response with id '{previous}' not found.", param: "previous_response_id", code: "previous_response_not_found").ConfigureAwait(false);
                    return;
                case null:
                    await OwnershipUnknownAsync(context, previous).ConfigureAwait(false);
                    return;
            }
        }

        if (conversation is not null && !await MayReachConversationAsync(context, tenant, conversation).ConfigureAwait(false))
        {
            return;
        }

        context.Request.Body = new MemoryStream(buffer.GetBuffer(), 0, (int)buffer.Length, writable: false);
        await ForwardAsync(context, proxy, options, gate).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the tenant may reach response <paramref name="id"/> upstream: it produced it, or it has its own upstream
    /// account (whose ids are its own); otherwise 404 is written, as the API answers an unknown id.
    /// </summary>
    public static async Task<bool> MayReachResponseAsync(HttpContext context, TenantState tenant, string id)
    {
        switch (await tenant.OwnsAsync(id, context.RequestAborted).ConfigureAwait(false))
        {
            case true:
                return true;
            case null when tenant.Upstream is not { Own: true }:
                await OwnershipUnknownAsync(context, id).ConfigureAwait(false);
                return false;
        }

        if (tenant.Upstream is { Own: true })
        {
            return true;
        }

        await ResponseNotFoundAsync(context, id).ConfigureAwait(false);
        return false;
    }

    public static Task ResponseNotFoundAsync(HttpContext context, string id) =>
        OpenAIErrors.WriteAsync(context, 404, $"Response with id '{id}' not found.");

    private static async Task<bool> MayReachConversationAsync(HttpContext context, TenantState tenant, string id)
    {
        if (tenant.Upstream is { Own: true })
        {
            return true;
        }

        switch (await tenant.OwnsConversationAsync(id, context.RequestAborted).ConfigureAwait(false))
        {
            case true:
                return true;
            case null:
                await OwnershipUnknownAsync(context, id).ConfigureAwait(false);
                return false;
        }

        await OpenAIErrors.WriteAsync(context, 404, $"Conversation with id '{id}' not found.").ConfigureAwait(false);
        return false;
    }

    private static Task OwnershipUnknownAsync(HttpContext context, string id) =>
        OpenAIErrors.WriteAsync(context, 503, $"Whether '{id}' is this tenant's cannot be read now: the conversation store is unavailable.", "server_error", code: "persistence_unavailable", retryAfter: TimeSpan.FromSeconds(1));

    /// <summary>
    /// Runs a pass-through as a turn runs: refused once the drain began, within the tenant's limits, counted by the drain
    /// (and aborted if it outlives it), and measured.
    /// </summary>
    private static async Task RunAsync(HttpContext context, TenantState tenant, TurnGate gate, string endpoint, Func<Task> forward)
    {
        if (gate.Stopping)
        {
            await ResponsesEndpoint.ShuttingDownAsync(context).ConfigureAwait(false);
            return;
        }

        TenantHeaders.Write(context, tenant.Limiter?.Headers());
        using var permit = await tenant.LimitAsync(context.Request.ContentLength ?? 0, context.RequestAborted).ConfigureAwait(false);
        if (permit is { Granted: false })
        {
            await TenantHeaders.RefuseAsync(context, tenant, permit).ConfigureAwait(false);
            return;
        }

        if (!gate.TryEnter())
        {
            await ResponsesEndpoint.ShuttingDownAsync(context).ConfigureAwait(false);
            return;
        }

        using var abandoned = gate.Abandoned.UnsafeRegister(static c => ((HttpContext)c!).Abort(), context);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await forward().ConfigureAwait(false);
        }
        finally
        {
            gate.Exit();
            GatewayMetrics.PassedThrough(tenant.Options.Name, endpoint, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>The path after <c>/v1/</c>.</summary>
    public static string Rest(HttpContext context) => (context.Request.Path.Value ?? string.Empty)["/v1".Length..].Trim('/');

    private static bool Under(string[] segments, string allowed)
    {
        var prefix = allowed.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return prefix.Length > 0 && segments.Length >= prefix.Length && prefix.SequenceEqual(segments.Take(prefix.Length), StringComparer.Ordinal);
    }

    /// <summary>The metric's endpoint label: the API family and, for responses and conversations, the kind of call (bounded, no ids).</summary>
    private static string Endpoint(string[] segments) => segments switch
    {
        ["responses", "input_tokens" or "compact"] => "responses/" + segments[1],
        ["responses", _, var sub, ..] => "responses/{id}/" + sub,
        ["responses", _] => "responses/{id}",
        ["conversations", _, "items", ..] => "conversations/{id}/items",
        ["conversations", _] => "conversations/{id}",
        [var family, ..] when GatewayOptions.DefaultSharedPassThrough.Contains(family) => family,
        _ => "other",
    };

    private static string? IdIn(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
