namespace Fantasy.Actors.Protocol;

public sealed record OutputTextDelta(string? ItemId, int OutputIndex, int ContentIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.OutputTextDelta;
}
