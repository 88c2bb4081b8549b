using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Contract;

/// <summary>One item of a running turn: <see cref="TurnStarted"/>, the upstream events, then exactly one <see cref="TurnFinished"/>.</summary>
public abstract record TurnEvent
{
    private protected TurnEvent()
    {
    }
}

/// <summary>
/// The turn went out and its first event arrived: which transport carries it and whether it went out as a
/// delta. Comes once, before the first <see cref="TurnUpstreamEvent"/> (not at all for a turn that never started).
/// </summary>
public sealed record TurnStarted(Transport Transport, bool Chained) : TurnEvent;

/// <summary>An event of the response as the server sent it.</summary>
public sealed record TurnUpstreamEvent(ServerEvent Event) : TurnEvent;

/// <summary>The last item of every turn.</summary>
public sealed record TurnFinished(TurnEnd End) : TurnEvent;
