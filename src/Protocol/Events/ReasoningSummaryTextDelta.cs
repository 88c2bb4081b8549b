namespace Fantasy.Actors.Protocol;

public sealed record ReasoningSummaryTextDelta(string? ItemId, int OutputIndex, int SummaryIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryTextDelta;
}
