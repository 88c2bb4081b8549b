using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Limits;

/// <summary>The messages of an upstream credential's budget actor (<see cref="UpstreamBudgetActor"/>).</summary>
internal static class UpstreamBudgetProtocol
{
    /// <summary>A session's turn asks to go upstream (the sender gets <see cref="MaySend"/>); <paramref name="Resent"/> goes to its tenant's front.</summary>
    public sealed record AskToSend(string TurnId, string Tenant, long Tokens, bool Resent = false);

    /// <summary>The turn may go now; what it costs is already taken from the budget.</summary>
    public sealed record MaySend(string TurnId);

    /// <summary>The sender's turn no longer waits (cancelled, expired, its session stopped).</summary>
    public sealed record Withdraw(string TurnId);

    /// <summary>The sender's turn was let through but never sent: its cost goes back.</summary>
    public sealed record Unused(string TurnId, long Tokens);

    /// <summary>An upstream answer's <c>x-ratelimit-*</c> headers.</summary>
    public sealed record UpstreamSaid(RateLimitSnapshot Snapshot);

    /// <summary>The upstream refused a request with 429 <c>rate_limit_exceeded</c>, over <paramref name="Transport"/>.</summary>
    public sealed record UpstreamRefused(UpstreamError Error, string Transport);

    /// <summary>This node's part of the credential's limits (cluster mode: 1 / the nodes hosting sessions).</summary>
    public sealed record SetShare(double Share);

    /// <summary>Asks for a <see cref="BudgetStatus"/>.</summary>
    public sealed record GetBudget
    {
        public static readonly GetBudget Instance = new();
    }

    /// <summary>The budget as this node sees it now.</summary>
    public sealed record BudgetStatus(
        long? RequestLimit,
        double? RequestsLeft,
        long? TokenLimit,
        double? TokensLeft,
        DateTimeOffset HoldUntil,
        double Share,
        IReadOnlyDictionary<string, int> Waiting,
        long Admitted);
}
