using Akka.Actor;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Fallback;

/// <summary>
/// Messages of the HTTP fallback. Each event of an HTTP turn reaches the reply-to as
/// <see cref="HttpEventReceived"/>, which it acknowledges with <see cref="HttpEventConsumed"/> (sent to the
/// fallback actor) when the turn has a consumer window.
/// </summary>
internal static class HttpFallbackProtocol
{
    /// <summary>One event of an HTTP turn's SSE stream; <paramref name="Index"/> counts from 0 within the turn.</summary>
    public sealed record HttpEventReceived(string TurnId, int Index, ServerEvent Event);

    /// <summary>Run one turn as <c>POST {base}/responses</c> with SSE; <paramref name="Body"/> is the full HTTP body.</summary>
    public sealed record RunHttpTurn(string TurnId, byte[] Body, IActorRef ReplyTo, int ConsumerWindow, long ConsumerWindowBytes = long.MaxValue, bool FoldDeltas = true, bool BudgetShared = false);

    /// <summary>The reply-to took <paramref name="Count"/> events (sent to the fallback actor, which routes it).</summary>
    public sealed record HttpEventConsumed(string TurnId, int Count);

    public sealed record CancelHttpTurn(string TurnId);

    /// <summary>The response's terminal event arrived.</summary>
    public sealed record HttpTurnEnded(string TurnId, TurnResult Result, int EventsForwarded, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>The turn failed: an error reply after the allowed retries, a transport failure, a mid-stream error.</summary>
    public sealed record HttpTurnFailed(string TurnId, UpstreamError Error, bool Retryable, int EventsForwarded, int Attempts, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>The fallback had no room for the turn (in-flight cap and wait queue full, or the wait was too long).</summary>
    public sealed record HttpTurnRejected(string TurnId, Contract.Rejection Rejection, string Reason);

    public sealed record HttpTurnCancelled(string TurnId, int EventsForwarded);

    public sealed record GetHttpStats;

    public sealed record HttpStats(int InFlight, int Waiting, int MaxInFlightSeen, long Started, long Rejected);
}
