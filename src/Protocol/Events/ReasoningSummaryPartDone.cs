namespace Fantasy.Actors.Protocol;

public sealed record ReasoningSummaryPartDone(string? ItemId, int OutputIndex, int SummaryIndex, string? Text) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryPartDone;
}
