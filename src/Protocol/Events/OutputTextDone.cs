namespace Fantasy.Actors.Protocol;

public sealed record OutputTextDone(string? ItemId, int OutputIndex, int ContentIndex, string Text) : ServerEvent
{
    public override string Type => EventTypes.OutputTextDone;
}
