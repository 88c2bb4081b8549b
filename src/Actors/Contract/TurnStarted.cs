namespace Fantasy.Actors.Contract;

/// <summary>
/// The turn went out and its first event arrived: which transport carries it and whether it went out as a
/// delta. Comes once, before the first <see cref="TurnUpstreamEvent"/> (not at all for a turn that never started).
/// </summary>
public sealed record TurnStarted(Transport Transport, bool Chained) : TurnEvent;
