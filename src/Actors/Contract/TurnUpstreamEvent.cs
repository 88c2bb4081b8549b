using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Contract;

/// <summary>An event of the response as the server sent it.</summary>
public sealed record TurnUpstreamEvent(ServerEvent Event) : TurnEvent;
