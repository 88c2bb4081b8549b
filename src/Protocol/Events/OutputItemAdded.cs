namespace Fantasy.Actors.Protocol;

public sealed record OutputItemAdded(int OutputIndex, OutputItem Item) : ServerEvent
{
    public override string Type => EventTypes.OutputItemAdded;
}
