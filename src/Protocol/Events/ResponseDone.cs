namespace Fantasy.Actors.Protocol;

/// <summary>The legacy terminal <c>response.done</c>; its meaning comes from <c>response.status</c>.</summary>
public sealed record ResponseDone(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Done;
    public override bool IsResponseTerminal => true;
}
