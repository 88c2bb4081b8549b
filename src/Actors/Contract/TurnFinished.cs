namespace Fantasy.Actors.Contract;

/// <summary>The last item of every turn.</summary>
public sealed record TurnFinished(TurnEnd End) : TurnEvent;
