using System.Text.Json;
using Fantasy.Actors.Protocol;
using Microsoft.AspNetCore.Http;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// The rest of the API a client calls besides creating responses, in the API's shapes: models, retrieve / delete /
/// input items of stored responses, input token counts, compaction, and the Conversations API with its items.
/// Background mode is not simulated (a <c>background:true</c> create is refused with 400 naming the parameter).
/// </summary>
internal sealed class ApiEndpoints(SimulatorEngine engine)
{
    /// <summary>The models the simulator lists (any model name is accepted when creating responses).</summary>
    public static readonly IReadOnlyList<string> Models = ["gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "gpt-5", "gpt-5-mini"];

    private static readonly long ModelsCreated = new DateTimeOffset(2025, 4, 14, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    /// <summary>Answers the request when it is one of these endpoints; false when the path is none of them.</summary>
    public async Task<bool> TryHandleAsync(HttpContext context)
    {
        engine.Counters.ApiCall();
        var method = context.Request.Method;
        var parts = (context.Request.Path.Value ?? string.Empty).Trim('/').Split('/');
        if (parts.Length < 2 || parts[0] != "v1")
        {
            return false;
        }

        switch (parts[1..])
        {
            case ["models"] when HttpMethods.IsGet(method):
                await WriteAsync(context, 200, WireWriter.Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("object"u8, "list"u8);
                    w.WriteStartArray("data"u8);
                    foreach (var model in Models)
                    {
                        WriteModel(w, model);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                })).ConfigureAwait(false);
                return true;
            case ["models", var id] when HttpMethods.IsGet(method):
                await (Models.Contains(id)
                    ? WriteAsync(context, 200, WireWriter.Write(w => WriteModel(w, id)))
                    : ErrorAsync(context, new SimError(404, "invalid_request_error", "model_not_found", $"The model '{id}' does not exist or you do not have access to it."))).ConfigureAwait(false);
                return true;
            case ["responses", "input_tokens"] when HttpMethods.IsPost(method):
                await InputTokensAsync(context).ConfigureAwait(false);
                return true;
            case ["responses", "compact"] when HttpMethods.IsPost(method):
                await CompactAsync(context).ConfigureAwait(false);
                return true;
            case ["responses", var id] when HttpMethods.IsGet(method):
                await (engine.Stored(id) is { Response: { } response }
                    ? WriteAsync(context, 200, response)
                    : ErrorAsync(context, ResponseNotFound(id))).ConfigureAwait(false);
                return true;
            case ["responses", var id] when HttpMethods.IsDelete(method):
                await (engine.Delete(id)
                    ? WriteAsync(context, 200, Deleted(id, "response"))
                    : ErrorAsync(context, ResponseNotFound(id))).ConfigureAwait(false);
                return true;
            case ["responses", var id, "input_items"] when HttpMethods.IsGet(method):
                await (engine.Stored(id) is { } stored
                    ? ListAsync(context, stored.Context, id)
                    : ErrorAsync(context, ResponseNotFound(id))).ConfigureAwait(false);
                return true;
            case ["responses", var id, "cancel"] when HttpMethods.IsPost(method):
                await ErrorAsync(context, engine.Stored(id) is null
                    ? ResponseNotFound(id)
                    : SimError.Invalid("Only responses created with background=true can be cancelled.")).ConfigureAwait(false);
                return true;
            case ["conversations", ..]:
                await ConversationAsync(context, parts[2..]).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    private async Task ConversationAsync(HttpContext context, string[] path)
    {
        var method = context.Request.Method;
        if (path.Length == 0)
        {
            if (!HttpMethods.IsPost(method))
            {
                await ErrorAsync(context, MethodNotAllowed(context)).ConfigureAwait(false);
                return;
            }

            var body = await ReadJsonAsync(context).ConfigureAwait(false);
            if (body is { ValueKind: not JsonValueKind.Object } && body is { ValueKind: not JsonValueKind.Undefined })
            {
                await ErrorAsync(context, SimError.Invalid("The request body must be a JSON object.")).ConfigureAwait(false);
                return;
            }

            var created = engine.Conversations.Create();
            if (body is { ValueKind: JsonValueKind.Object } b)
            {
                created.Metadata = b.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m.Clone() : null;
                if (b.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
                {
                    created.Add(items.EnumerateArray().Select(i => i.Clone()));
                }
            }

            await WriteAsync(context, 200, created.ToJson()).ConfigureAwait(false);
            return;
        }

        if (engine.Conversations.Get(path[0]) is not { } conversation)
        {
            await ErrorAsync(context, SimError.NotFound($"Conversation with id '{path[0]}' not found.")).ConfigureAwait(false);
            return;
        }

        switch (path[1..])
        {
            case [] when HttpMethods.IsGet(method):
                await WriteAsync(context, 200, conversation.ToJson()).ConfigureAwait(false);
                break;
            case [] when HttpMethods.IsPost(method):
                if (await ReadJsonAsync(context).ConfigureAwait(false) is { ValueKind: JsonValueKind.Object } update
                    && update.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
                {
                    conversation.Metadata = metadata.Clone();
                }

                await WriteAsync(context, 200, conversation.ToJson()).ConfigureAwait(false);
                break;
            case [] when HttpMethods.IsDelete(method):
                engine.Conversations.Delete(conversation.Id);
                await WriteAsync(context, 200, Deleted(conversation.Id, "conversation.deleted")).ConfigureAwait(false);
                break;
            case ["items"] when HttpMethods.IsGet(method):
                await ListAsync(context, conversation.Items, conversation.Id, ascendingByDefault: false).ConfigureAwait(false);
                break;
            case ["items"] when HttpMethods.IsPost(method):
                if (await ReadJsonAsync(context).ConfigureAwait(false) is not { ValueKind: JsonValueKind.Object } add
                    || !add.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
                {
                    await ErrorAsync(context, SimError.Invalid("Missing required parameter: 'items'.", "items")).ConfigureAwait(false);
                    break;
                }

                var stored = conversation.Add(items.EnumerateArray().Select(i => i.Clone()));
                await WriteAsync(context, 200, WireWriter.Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("object"u8, "list"u8);
                    w.WriteStartArray("data"u8);
                    foreach (var item in stored)
                    {
                        item.WriteTo(w);
                    }

                    w.WriteEndArray();
                    w.WriteString("first_id"u8, stored.Count > 0 ? stored[0].GetProperty("id").GetString() : null);
                    w.WriteString("last_id"u8, stored.Count > 0 ? stored[^1].GetProperty("id").GetString() : null);
                    w.WriteBoolean("has_more"u8, false);
                    w.WriteEndObject();
                })).ConfigureAwait(false);
                break;
            case ["items", var itemId] when HttpMethods.IsGet(method):
                await (conversation.Item(itemId) is { } found
                    ? WriteAsync(context, 200, WireWriter.Write(found.WriteTo))
                    : ErrorAsync(context, SimError.NotFound($"Item with id '{itemId}' not found."))).ConfigureAwait(false);
                break;
            case ["items", var itemId] when HttpMethods.IsDelete(method):
                await (conversation.RemoveItem(itemId)
                    ? WriteAsync(context, 200, conversation.ToJson())
                    : ErrorAsync(context, SimError.NotFound($"Item with id '{itemId}' not found."))).ConfigureAwait(false);
                break;
            default:
                await ErrorAsync(context, MethodNotAllowed(context)).ConfigureAwait(false);
                break;
        }
    }

    /// <summary><c>POST /v1/responses/input_tokens</c>: the input's tokens as the simulator counts them (bytes / 4, at least 1), a stored previous response's context included.</summary>
    private async Task InputTokensAsync(HttpContext context)
    {
        if (await ReadRequestAsync(context).ConfigureAwait(false) is not { } request)
        {
            return;
        }

        if (Context(request) is not { } items)
        {
            await ErrorAsync(context, SimError.PreviousNotFound(request.PreviousResponseId!)).ConfigureAwait(false);
            return;
        }

        await WriteAsync(context, 200, WireWriter.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "response.input_tokens"u8);
            w.WriteNumber("input_tokens"u8, CountTokens(items, request.Instructions));
            w.WriteEndObject();
        })).ConfigureAwait(false);
    }

    /// <summary><c>POST /v1/responses/compact</c>: the user messages kept, everything else replaced by one compaction item.</summary>
    private async Task CompactAsync(HttpContext context)
    {
        if (await ReadRequestAsync(context).ConfigureAwait(false) is not { } request)
        {
            return;
        }

        if (string.IsNullOrEmpty(request.Model))
        {
            await ErrorAsync(context, SimError.Invalid("Missing required parameter: 'model'.", "model")).ConfigureAwait(false);
            return;
        }

        if (Context(request) is not { } items)
        {
            await ErrorAsync(context, SimError.PreviousNotFound(request.PreviousResponseId!)).ConfigureAwait(false);
            return;
        }

        var id = engine.NewResponseId();
        var kept = items.Where(i => i.TryGetProperty("role", out var role) && role.ValueEquals("user"u8)).ToList();
        var input = CountTokens(items, request.Instructions);
        var output = Math.Max(1, input / 8);
        await WriteAsync(context, 200, WireWriter.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("object"u8, "response.compaction"u8);
            w.WriteNumber("created_at"u8, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            w.WriteStartArray("output"u8);
            for (var i = 0; i < kept.Count; i++)
            {
                ItemList.WriteItem(w, kept[i], ItemList.IdOf(kept[i], id, i));
            }

            w.WriteStartObject();
            w.WriteString("id"u8, "cmp_" + id[(id.IndexOf('_', StringComparison.Ordinal) + 1)..]);
            w.WriteString("type"u8, "compaction"u8);
            w.WriteString("encrypted_content"u8, Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"compacted {items.Count} items")));
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("usage"u8);
            w.WriteNumber("input_tokens"u8, input);
            w.WriteStartObject("input_tokens_details"u8);
            w.WriteNumber("cached_tokens"u8, 0);
            w.WriteEndObject();
            w.WriteNumber("output_tokens"u8, output);
            w.WriteStartObject("output_tokens_details"u8);
            w.WriteNumber("reasoning_tokens"u8, 0);
            w.WriteEndObject();
            w.WriteNumber("total_tokens"u8, input + output);
            w.WriteEndObject();
            w.WriteEndObject();
        })).ConfigureAwait(false);
    }

    /// <summary>The request's whole context: a stored previous response's context and output, then its input; null when the previous response is unknown.</summary>
    private IReadOnlyList<JsonElement>? Context(ResponseRequest request)
    {
        if (request.PreviousResponseId is not { } previous)
        {
            return request.Input;
        }

        return engine.Stored(previous) is { } stored ? [.. stored.Context, .. stored.Output, .. request.Input] : null;
    }

    private static int CountTokens(IReadOnlyList<JsonElement> items, string? instructions)
    {
        long bytes = System.Text.Encoding.UTF8.GetByteCount(instructions ?? string.Empty);
        foreach (var item in items)
        {
            bytes += JsonSerializer.SerializeToUtf8Bytes(item).Length;
        }

        return (int)Math.Max(1, bytes / 4);
    }

    private static async Task<ResponseRequest?> ReadRequestAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        try
        {
            return ResponseRequest.Parse(buffer.ToArray());
        }
        catch (ProtocolException ex)
        {
            await ErrorAsync(context, SimError.Invalid(ex.Message, ex.Field)).ConfigureAwait(false);
            return null;
        }
    }

    private static async Task<JsonElement?> ReadJsonAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        if (buffer.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(buffer.ToArray()).RootElement;
        }
        catch (JsonException)
        {
            return default(JsonElement);
        }
    }

    private static Task ListAsync(HttpContext context, IReadOnlyList<JsonElement> items, string owner, bool ascendingByDefault = false)
    {
        var query = context.Request.Query;
        var order = query["order"].ToString();
        var (list, error, param) = ItemList.ReadQuery(query["limit"].ToString(), string.IsNullOrEmpty(order) && ascendingByDefault ? "asc" : order, query["after"].ToString());
        if (list is null)
        {
            return ErrorAsync(context, SimError.Invalid(error!, param));
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        bool found;
        using (var w = new Utf8JsonWriter(buffer))
        {
            found = ItemList.TryWrite(w, items, owner, list);
        }

        return found
            ? WriteAsync(context, 200, buffer.WrittenSpan.ToArray())
            : ErrorAsync(context, SimError.Invalid($"No item with id '{list.After}' in this list.", "after"));
    }

    private static void WriteModel(Utf8JsonWriter w, string id)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "model"u8);
        w.WriteNumber("created"u8, ModelsCreated);
        w.WriteString("owned_by"u8, "system"u8);
        w.WriteEndObject();
    }

    private static byte[] Deleted(string id, string @object) => WireWriter.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, @object);
        w.WriteBoolean("deleted"u8, true);
        w.WriteEndObject();
    });

    private static SimError ResponseNotFound(string id) => SimError.NotFound($"Response with id '{id}' not found.");

    private static SimError MethodNotAllowed(HttpContext context) =>
        new(405, "invalid_request_error", "method_not_allowed", $"{context.Request.Method} is not allowed on {context.Request.Path}.");

    private static Task ErrorAsync(HttpContext context, SimError error) => HttpEndpoint.WriteErrorAsync(context, error, null);

    private static async Task WriteAsync(HttpContext context, int status, byte[] json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = json.Length;
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }
}
