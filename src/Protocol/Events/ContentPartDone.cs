namespace Fantasy.Actors.Protocol;

public sealed record ContentPartDone(string? ItemId, int OutputIndex, int ContentIndex, System.Text.Json.JsonElement Part) : ServerEvent
{
    public override string Type => EventTypes.ContentPartDone;
}
