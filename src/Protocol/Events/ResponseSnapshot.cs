using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// A Response object as carried by <c>response.created</c>, <c>response.completed</c> and the other
/// response-level events (and by a non-streaming HTTP reply). Fields the client acts on are typed;
/// <see cref="Json"/> is the whole object as sent, so it can be passed on faithfully. The object is
/// read into one <see cref="JsonDocument"/>; output items are views into it.
/// </summary>
public sealed class ResponseSnapshot
{
    private ResponseSnapshot(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("a Response must be a JSON object");
        }

        Json = json;
        Id = Str(json, "id") ?? string.Empty;
        CreatedAt = json.TryGetProperty("created_at", out var created) && created.ValueKind != JsonValueKind.Null ? created.GetInt64() : null;
        Status = Str(json, "status");
        Model = Str(json, "model");
        PreviousResponseId = Str(json, "previous_response_id");
        if (json.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
        {
            Error = error.ValueKind == JsonValueKind.Object
                ? new ResponseError(Str(error, "code"), Str(error, "message") ?? string.Empty)
                : throw new JsonException("'response.error' must be an object");
        }

        if (json.TryGetProperty("incomplete_details", out var incomplete) && incomplete.ValueKind == JsonValueKind.Object)
        {
            IncompleteReason = Str(incomplete, "reason");
        }

        if (json.TryGetProperty("usage", out var usage) && usage.ValueKind != JsonValueKind.Null)
        {
            Usage = ReadUsage(usage);
        }

        if (json.TryGetProperty("output", out var output) && output.ValueKind != JsonValueKind.Null)
        {
            if (output.ValueKind != JsonValueKind.Array)
            {
                throw new JsonException("'response.output' must be an array");
            }

            var items = new OutputItem[output.GetArrayLength()];
            var i = 0;
            foreach (var item in output.EnumerateArray())
            {
                items[i++] = new OutputItem(item);
            }

            Output = items;
        }
        else
        {
            Output = [];
        }
    }

    /// <summary>The Response object exactly as sent.</summary>
    public JsonElement Json { get; }

    public string Id { get; }
    public long? CreatedAt { get; }

    /// <summary><c>completed | failed | in_progress | cancelled | queued | incomplete</c>.</summary>
    public string? Status { get; }
    public string? Model { get; }
    public ResponseError? Error { get; }

    /// <summary><c>incomplete_details.reason</c>: <c>max_output_tokens</c>, <c>content_filter</c>, …</summary>
    public string? IncompleteReason { get; }
    public string? PreviousResponseId { get; }
    public Usage? Usage { get; }

    /// <summary>The response's output as sent on this event; some backends send it empty on completion.</summary>
    public IReadOnlyList<OutputItem> Output { get; }

    internal static ResponseSnapshot Read(ref Utf8JsonReader reader) => new(JsonElement.ParseValue(ref reader));

    /// <summary><c>usage</c> read in place (three snapshots a turn: no serializer round trip for six numbers).</summary>
    private static Usage ReadUsage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("'usage' must be an object");
        }

        return new Usage(
            Count(usage, "input_tokens"),
            Count(Part(usage, "input_tokens_details"), "cached_tokens"),
            Count(Part(usage, "input_tokens_details"), "cache_write_tokens"),
            Count(usage, "output_tokens"),
            Count(Part(usage, "output_tokens_details"), "reasoning_tokens"),
            Count(usage, "total_tokens"));
    }

    private static JsonElement Part(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var part) && part.ValueKind == JsonValueKind.Object ? part
        : part.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? default
        : throw new JsonException($"'usage.{name}' must be an object");

    private static long Count(JsonElement obj, string name) =>
        obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? 0
        : v.ValueKind == JsonValueKind.Number ? v.GetInt64()
        : throw new JsonException($"'usage.{name}' must be a number");

    /// <summary>
    /// As <see cref="Read(ref Utf8JsonReader)"/> for a reader over all of <paramref name="backing"/>: the snapshot
    /// refers to the object's bytes there instead of copying them (the array must not change afterwards).
    /// </summary>
    internal static ResponseSnapshot Read(ref Utf8JsonReader reader, byte[] backing)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var end = (int)reader.BytesConsumed;

        // Not disposed: the document's own index is rented, and simply collected with it.
        var document = JsonDocument.Parse(backing.AsMemory(start, end - start));
        return new ResponseSnapshot(document.RootElement);
    }

    /// <summary>Parses a non-streaming HTTP reply body (one Response object).</summary>
    public static ResponseSnapshot Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ProtocolException("a Response must be a JSON object", utf8);
            }

            var snapshot = Read(ref reader);
            if (reader.Read())
            {
                throw new ProtocolException("a Response must be one JSON object", utf8);
            }

            return snapshot;
        }
        catch (Exception ex) when (ProtocolException.IsParseFailure(ex))
        {
            throw ProtocolException.From(ex, utf8);
        }
    }

    /// <summary>A string field; null when absent or null; a wrong JSON type is a protocol error.</summary>
    internal static string? Str(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new JsonException($"'{name}' must be a string");
    }
}
