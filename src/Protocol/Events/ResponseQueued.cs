namespace Fantasy.Actors.Protocol;

public sealed record ResponseQueued(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Queued;
}
