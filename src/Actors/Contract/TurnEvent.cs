namespace Fantasy.Actors.Contract;

/// <summary>One item of a running turn: <see cref="TurnStarted"/>, the upstream events, then exactly one <see cref="TurnFinished"/>.</summary>
public abstract record TurnEvent
{
    private protected TurnEvent()
    {
    }
}
