using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// One item of a response's output (message, function_call, reasoning, hosted-tool call, …),
/// kept as the exact JSON the server sent so it can be replayed as input byte-for-byte in meaning.
/// The common fields are lifted out for convenience.
/// </summary>
public sealed class OutputItem : IEquatable<OutputItem>
{
    public OutputItem(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new ProtocolException("an output item must be a JSON object", json.GetRawText());
        }

        Json = json;
        Type = ResponseSnapshot.Str(json, "type") ?? string.Empty;
        Id = ResponseSnapshot.Str(json, "id");
    }

    /// <summary>The item as the server sent it.</summary>
    public JsonElement Json { get; }

    public string Type { get; }
    public string? Id { get; }

    // The rarer fields are read when asked for: a 20 KB completion is parsed without building them.
    public string? Status => GetString(Json, "status");

    /// <summary>For function calls: the id a tool result refers to (<c>call_…</c>), not the item id (<c>fc_…</c>).</summary>
    public string? CallId => GetString(Json, "call_id");
    public string? Name => GetString(Json, "name");
    public string? Arguments => GetString(Json, "arguments");
    public string? Role => GetString(Json, "role");

    public bool IsFunctionCall => Type == ItemTypes.FunctionCall;

    /// <summary>The concatenated <c>output_text</c> parts of a message item (empty for other items).</summary>
    public string MessageText()
    {
        if (Type != ItemTypes.Message || !Json.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            return string.Empty;
        }

        var text = string.Empty;
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && GetString(part, "type") == ItemTypes.OutputText && GetString(part, "text") is { } t)
            {
                text += t;
            }
        }

        return text;
    }

    /// <summary>The texts of a reasoning item's own <c>summary</c> parts, in order (empty for other items).</summary>
    public IReadOnlyList<string> ReasoningSummary()
    {
        if (Type != ItemTypes.Reasoning || !Json.TryGetProperty("summary", out var summary) || summary.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var texts = new List<string>();
        foreach (var part in summary.EnumerateArray())
        {
            if (GetString(part, "text") is { } t)
            {
                texts.Add(t);
            }
        }

        return texts;
    }

    internal static string? GetString(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    public bool Equals(OutputItem? other) => other is not null && JsonElement.DeepEquals(Json, other.Json);

    public override bool Equals(object? obj) => Equals(obj as OutputItem);

    public override int GetHashCode() => HashCode.Combine(Type, Id, CallId);

    public override string ToString() => Json.GetRawText();
}
