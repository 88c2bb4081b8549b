namespace Fantasy.Actors.Protocol;

public sealed record ResponseInProgress(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.InProgress;
}
