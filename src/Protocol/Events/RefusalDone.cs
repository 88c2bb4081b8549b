namespace Fantasy.Actors.Protocol;

public sealed record RefusalDone(string? ItemId, int OutputIndex, int ContentIndex, string Refusal) : ServerEvent
{
    public override string Type => EventTypes.RefusalDone;
}
