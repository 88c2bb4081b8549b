namespace Fantasy.Actors.Protocol;

public sealed record FunctionCallArgumentsDelta(string? ItemId, int OutputIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.FunctionCallArgumentsDelta;
}
