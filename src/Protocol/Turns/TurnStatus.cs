namespace Fantasy.Actors.Protocol;

/// <summary>How a turn ended.</summary>
public enum TurnStatus
{
    Completed,
    Incomplete,
    Failed,
    Cancelled,

    /// <summary>The stream stopped before a terminal event: never a success.</summary>
    Interrupted,
}
