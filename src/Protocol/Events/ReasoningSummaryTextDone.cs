namespace Fantasy.Actors.Protocol;

public sealed record ReasoningSummaryTextDone(string? ItemId, int OutputIndex, int SummaryIndex, string Text) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryTextDone;
}
