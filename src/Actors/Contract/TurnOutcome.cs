namespace Fantasy.Actors.Contract;

/// <summary>How a turn ended. Every accepted turn ends exactly once.</summary>
public enum TurnOutcome
{
    Completed,
    Incomplete,
    Failed,
    Cancelled,
    Rejected,
}
