namespace Fantasy.Actors.Protocol;

/// <summary>What the accumulator concluded after an event.</summary>
public enum TurnProgress
{
    Running,

    /// <summary>A terminal event arrived: the turn is over and later events are ignored.</summary>
    Ended,
}
