namespace Fantasy.Actors.Protocol;

/// <summary>Events that carry a full Response object.</summary>
public abstract record ResponseEvent(ResponseSnapshot Response) : ServerEvent;
