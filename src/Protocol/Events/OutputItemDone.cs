namespace Fantasy.Actors.Protocol;

public sealed record OutputItemDone(int OutputIndex, OutputItem Item) : ServerEvent
{
    public override string Type => EventTypes.OutputItemDone;
}
