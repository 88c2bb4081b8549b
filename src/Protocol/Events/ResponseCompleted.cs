namespace Fantasy.Actors.Protocol;

public sealed record ResponseCompleted(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Completed;
    public override bool IsResponseTerminal => true;
}
