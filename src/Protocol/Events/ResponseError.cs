namespace Fantasy.Actors.Protocol;

/// <summary>The <c>error</c> object of a failed Response.</summary>
public sealed record ResponseError(string? Code, string Message);
