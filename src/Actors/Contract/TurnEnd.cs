using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Contract;

/// <summary>The terminal of a turn.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="Result">The folded turn (events, text, calls, usage); empty for rejected or cancelled-before-start turns.</param>
/// <param name="Error">The upstream or service error of a failed or rejected turn.</param>
/// <param name="Retryable">Whether the same request may succeed if sent again.</param>
/// <param name="Reason">A readable reason for anything but a completion.</param>
/// <param name="Chained">Whether the turn went out as <c>previous_response_id</c> plus only its new items.</param>
/// <param name="Transport">The transport it ran on; <see cref="Transport.None"/> when it never went out.</param>
public sealed record TurnEnd(
    TurnOutcome Outcome,
    TurnResult Result,
    UpstreamError? Error,
    bool Retryable,
    string? Reason,
    bool Chained,
    Transport Transport)
{
    /// <summary>Why the service did not take the turn, for <see cref="TurnOutcome.Rejected"/>; null otherwise.</summary>
    public Rejection? Rejection { get; init; }

    public string? ResponseId => Result.ResponseId;

    /// <summary>Response metadata when the transport exposes it: <c>x-request-id</c>, <c>x-ratelimit-*</c> (HTTP).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>How the turn went out (replays, connection, bytes, why HTTP); null for a turn that never went out.</summary>
    public TurnDiagnostics? Diagnostics { get; init; }

    /// <summary>A local rejection: no upstream was involved, so it carries no <see cref="Error"/>.</summary>
    internal static TurnEnd Rejected(Rejection rejection, string reason, bool retryable = true) =>
        new(TurnOutcome.Rejected, new TurnResult { Status = TurnStatus.Interrupted }, null, retryable, reason, false, Transport.None) { Rejection = rejection };

    internal static TurnEnd Failed(string reason, bool retryable, TurnResult? result = null, UpstreamError? error = null) =>
        new(TurnOutcome.Failed, result ?? new TurnResult { Status = TurnStatus.Interrupted }, error ?? UpstreamError.FromTransport(reason), retryable, reason, false, Transport.None);

    internal static TurnEnd Cancelled(string reason, TurnResult? result = null) =>
        new(TurnOutcome.Cancelled, result ?? new TurnResult { Status = TurnStatus.Interrupted }, null, false, reason, false, Transport.None);
}
