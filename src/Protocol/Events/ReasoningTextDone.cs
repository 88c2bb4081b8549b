namespace Fantasy.Actors.Protocol;

public sealed record ReasoningTextDone(string? ItemId, int OutputIndex, int ContentIndex, string Text) : ServerEvent
{
    public override string Type => EventTypes.ReasoningTextDone;
}
