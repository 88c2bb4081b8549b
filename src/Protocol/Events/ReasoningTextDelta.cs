namespace Fantasy.Actors.Protocol;

public sealed record ReasoningTextDelta(string? ItemId, int OutputIndex, int ContentIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.ReasoningTextDelta;
}
