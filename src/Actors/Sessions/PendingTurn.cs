using Fantasy.Actors.Contract;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>A turn's standing with its upstream credential's budget.</summary>
internal enum BudgetPermit
{
    /// <summary>Not asked yet (or asked again after the upstream refused it).</summary>
    None,

    /// <summary>Asked; waiting for the budget's answer.</summary>
    Asked,

    /// <summary>Let through: it may go upstream.</summary>
    Granted,
}

/// <summary>An accepted turn, from its queueing to its one terminal.</summary>
internal sealed class PendingTurn(SubmitTurn submit)
{
    public SubmitTurn Submit { get; } = submit;

    public string Id => Submit.TurnId;

    public bool Finished { get; private set; }

    /// <summary>How many times the turn was resent, full input, on a fresh connection.</summary>
    public int Replays { get; set; }

    public bool Replayed => Replays > 0;

    /// <summary>How many connections closed before taking this turn.</summary>
    public int Handoffs { get; set; }

    /// <summary>When the turn stops waiting to start (<c>session.queue-wait-timeout</c> after it was accepted).</summary>
    public DateTimeOffset StartBy { get; set; } = DateTimeOffset.MaxValue;

    /// <summary>How many times the HTTP fallback was full when this turn was sent to it.</summary>
    public int FallbackBusy { get; set; }

    /// <summary>Where the turn stands with its upstream credential's budget (<c>fantasy.rate-limits</c>).</summary>
    public BudgetPermit Permit { get; set; }

    /// <summary>The tokens the budget was asked for: the input's JSON bytes over <c>rate-limits.bytes-per-token</c>.</summary>
    public long Tokens { get; set; }

    /// <summary>When the upstream first refused this turn with 429 (it is resent within <c>session.queue-wait-timeout</c> of that).</summary>
    public DateTimeOffset? RateLimitedSince { get; set; }

    /// <summary>Internal warm-ups (rotation priming) have no caller.</summary>
    public bool Internal { get; init; }

    /// <summary>Writes the turn's one terminal and completes its channel; later calls do nothing.</summary>
    public void Finish(TurnEnd end)
    {
        if (Finished)
        {
            return;
        }

        Finished = true;
        try
        {
            Submit.Out.TryWrite(new TurnFinished(end));
        }
        finally
        {
            Submit.Out.TryComplete();
        }
    }
}
