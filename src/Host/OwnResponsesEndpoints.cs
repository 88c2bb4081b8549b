using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>
/// <c>/v1/responses/{id}</c> for a response a turn of the caller's tenant produced through this node: retrieved, its
/// input items listed, deleted and cancelled by the gateway from what it kept (<see cref="ResponseArchive"/>) — also
/// <c>store:false</c> responses, which the upstream cannot return (kept by another node in cluster mode, or read back from
/// the session's journal when no node keeps it). Any other id is passed through when the tenant may
/// reach it (<see cref="PassThroughEndpoints"/>), and answered 404 when it is another tenant's.
/// </summary>
internal static class OwnResponsesEndpoints
{
    public static async Task GetAsync(HttpContext context, string id, UpstreamProxy proxy, GatewayOptions options, TurnGate gate)
    {
        var kept = await KeptAsync(context, id, ArchiveAction.Read);
        if (kept is not { Response: { } own })
        {
            await ForwardUnlessAnsweredAsync(context, kept, proxy, options, gate);
            return;
        }

        if (context.Request.Query["stream"] == "true")
        {
            await OpenAIErrors.WriteAsync(context, 400, "Only background responses can be streamed again (stream=true); this gateway runs responses over a live connection and has none.", param: "stream");
            return;
        }

        if (own.Recorded)
        {
            context.Response.Headers["x-fantasy-source"] = "journal"; // rebuilt from the conversation store: usage is not recorded
        }

        await WriteAsync(context, own.Json);
    }

    public static async Task InputItemsAsync(HttpContext context, string id, UpstreamProxy proxy, GatewayOptions options, TurnGate gate)
    {
        var kept = await KeptAsync(context, id, ArchiveAction.Read);
        if (kept is not { Response: { } own })
        {
            await ForwardUnlessAnsweredAsync(context, kept, proxy, options, gate);
            return;
        }

        var query = context.Request.Query;
        var (list, error, param) = ItemList.ReadQuery(query["limit"], query["order"], query["after"]);
        if (list is null)
        {
            await OpenAIErrors.WriteAsync(context, 400, error!, param: param);
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(4096);
        bool found;
        using (var w = new Utf8JsonWriter(buffer))
        {
            found = ItemList.TryWrite(w, own.Context, own.Id, list);
        }

        if (!found)
        {
            await OpenAIErrors.WriteAsync(context, 400, $"No input item with id '{list.After}' in response '{id}'.", param: "after");
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    /// <summary>
    /// Deletes the response: it can no longer be retrieved or chained from (its items stay in the context of the responses
    /// that followed it, as they were their input); one the upstream stored is deleted there too.
    /// </summary>
    public static async Task DeleteAsync(HttpContext context, string id, UpstreamProxy proxy, GatewayOptions options, TurnGate gate)
    {
        var tenant = context.Tenant();
        var kept = await KeptAsync(context, id, ArchiveAction.Delete);
        if (kept is not { Response: { } own, Here: var here, Elsewhere: var elsewhere })
        {
            await ForwardUnlessAnsweredAsync(context, kept, proxy, options, gate);
            return;
        }

        if (here?.Running == true || elsewhere is { Done: false })
        {
            await OpenAIErrors.WriteAsync(context, 400, $"Response '{id}' is in progress; cancel it first (POST /v1/responses/{id}/cancel).", param: "response_id");
            return;
        }

        try
        {
            await tenant.ForgetAsync(id, context.RequestAborted);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            // Gone here already; the durable record of the deletion could not be written: say so, and let the caller retry.
            await OpenAIErrors.WriteAsync(context, 503, $"Response '{id}' could not be recorded as deleted: the conversation store is unavailable ({e.Message}). Retry the deletion.", "server_error", code: "persistence_unavailable", retryAfter: TimeSpan.FromSeconds(1));
            return;
        }

        if (own.Store && tenant.Upstream is { } target)
        {
            await proxy.DeleteStoredAsync(target, id, context.RequestAborted);
        }

        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "response"u8);
        w.WriteBoolean("deleted"u8, true);
        w.WriteEndObject();
    }

    /// <summary>Cancels a running response: its turn ends (a stream with an <c>error</c> event <c>response_cancelled</c>) and the Response object says <c>cancelled</c>.</summary>
    public static async Task CancelAsync(HttpContext context, string id, UpstreamProxy proxy, GatewayOptions options, TurnGate gate, ILogger<ResponseArchive> log)
    {
        var tenant = context.Tenant();
        var kept = await KeptAsync(context, id, ArchiveAction.Cancel);
        if (kept is not { Response: { } own, Here: var here, Elsewhere: var elsewhere })
        {
            await ForwardUnlessAnsweredAsync(context, kept, proxy, options, gate);
            return;
        }

        // Cancelled here, or by the node that runs it (its answer says whether it did).
        if (here is not null ? !here.TryCancel() : elsewhere is { Done: false })
        {
            await OpenAIErrors.WriteAsync(context, 400, $"Cannot cancel response '{id}': its status is '{own.Status}'; only a response in progress can be cancelled.", param: "response_id");
            return;
        }

        Logs.ResponseCancelled(log, tenant.Options.Name, id);
        await WriteAsync(context, own.Json);
    }

    /// <summary>
    /// The kept response: this node's, or the answer of the node that keeps it (which has done <paramref name="action"/>
    /// on it, or its session's journal); null when none has it for the caller's tenant; <see cref="Kept.Answered"/> when
    /// the conversation store could not be read (the 503 is written).
    /// </summary>
    private static async Task<Kept?> KeptAsync(HttpContext context, string id, ArchiveAction action)
    {
        try
        {
            var (here, elsewhere) = await context.Tenant().FindKeptAsync(id, action, context.RequestAborted);
            return here is not null ? new Kept(here, here, null)
                : elsewhere is not null ? new Kept(ArchivePeers.ToResponse(id, elsewhere), null, elsewhere)
                : null;
        }
        catch (Exception e) when (TenantState.CannotRead(e))
        {
            await OpenAIErrors.WriteAsync(context, 503, $"Response '{id}' could not be read: the conversation store is unavailable ({e.Message}). Retry the request.", "server_error", code: "persistence_unavailable", retryAfter: TimeSpan.FromSeconds(1));
            return Kept.Answered;
        }
    }

    /// <summary>An id no gateway node keeps goes to the upstream, unless the caller has had its answer.</summary>
    private static Task ForwardUnlessAnsweredAsync(HttpContext context, Kept? kept, UpstreamProxy proxy, GatewayOptions options, TurnGate gate) =>
        ReferenceEquals(kept, Kept.Answered) ? Task.CompletedTask : PassThroughEndpoints.ForwardAsync(context, proxy, options, gate);

    private sealed record Kept(ArchivedResponse? Response, ArchivedResponse? Here, ArchiveAnswer? Elsewhere)
    {
        /// <summary>Nothing to read: the caller has been answered (the conversation store is unavailable).</summary>
        public static readonly Kept Answered = new(null, null, null);
    }

    private static async Task WriteAsync(HttpContext context, JsonElement json)
    {
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(JsonMarshal.GetRawUtf8Value(json).ToArray(), context.RequestAborted);
    }
}
