namespace Fantasy.Actors.Protocol;

public sealed record ResponseCreated(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Created;
}
