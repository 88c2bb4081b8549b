namespace Fantasy.Actors.Protocol;

/// <summary>
/// An <c>error</c> event in either wire shape (WebSocket nested or SSE flat). Before a response was
/// created it is request-scoped and ends the turn; see <see cref="TurnAccumulator"/>.
/// </summary>
public sealed record ErrorEvent(UpstreamError Error) : ServerEvent
{
    public override string Type => EventTypes.Error;
}
