namespace Fantasy.Actors.Protocol;

public sealed record ResponseIncomplete(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Incomplete;
    public override bool IsResponseTerminal => true;
}
