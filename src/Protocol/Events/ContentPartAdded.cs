namespace Fantasy.Actors.Protocol;

/// <summary>A content part (<c>output_text</c>, <c>refusal</c>, …) kept as sent.</summary>
public sealed record ContentPartAdded(string? ItemId, int OutputIndex, int ContentIndex, System.Text.Json.JsonElement Part) : ServerEvent
{
    public override string Type => EventTypes.ContentPartAdded;
}
