namespace Fantasy.Actors.Protocol;

public sealed record ResponseFailed(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Failed;
    public override bool IsResponseTerminal => true;
}
