using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// A citation: <c>url_citation</c> (web) or <c>file_citation</c> (file search), or another annotation
/// kind whose fields are kept in <see cref="Json"/>.
/// </summary>
public sealed record Citation(
    string Kind,
    string? Url,
    string? Title,
    string? FileId,
    string? Filename,
    int? Index,
    int? StartIndex,
    int? EndIndex)
{
    public bool IsUrl => Kind == "url_citation";
    public bool IsFile => Kind == "file_citation";

    public static Citation From(JsonElement annotation)
    {
        if (annotation.ValueKind != JsonValueKind.Object)
        {
            throw new ProtocolException("an annotation must be a JSON object", annotation.GetRawText());
        }

        return new Citation(
            OutputItem.GetString(annotation, "type") ?? string.Empty,
            OutputItem.GetString(annotation, "url"),
            OutputItem.GetString(annotation, "title"),
            OutputItem.GetString(annotation, "file_id"),
            OutputItem.GetString(annotation, "filename"),
            GetInt(annotation, "index"),
            GetInt(annotation, "start_index"),
            GetInt(annotation, "end_index"));
    }

    private static int? GetInt(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
}
