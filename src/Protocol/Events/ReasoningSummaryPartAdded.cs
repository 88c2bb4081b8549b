namespace Fantasy.Actors.Protocol;

public sealed record ReasoningSummaryPartAdded(string? ItemId, int OutputIndex, int SummaryIndex) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryPartAdded;
}
