using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>An OpenAI-shaped error the gateway answers with.</summary>
internal sealed record GatewayError(int Status, string Type, string Code, string Message, TimeSpan? RetryAfter = null);

/// <summary>
/// The one table from a turn's outcome to the gateway's answer: HTTP status, OpenAI error <c>type</c> and
/// <c>code</c>, and <c>Retry-After</c>. Local rejections are typed (<see cref="Rejection"/>), never read from
/// a reason's text; upstream errors keep their own status and body.
/// </summary>
internal static class TurnErrors
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(1);

    /// <summary>Why the gateway or a session did not take a turn.</summary>
    public static GatewayError For(Rejection rejection, string? reason) => rejection switch
    {
        Rejection.QueueFull => new(429, "rate_limit_error", "session_busy", $"The session is busy: {reason}", Soon),
        Rejection.QueueTimeout => new(429, "rate_limit_error", "queue_timeout", $"The turn waited too long for its session: {reason}", Soon),
        Rejection.FallbackBusy => new(503, "server_error", "fallback_busy", $"The HTTP fallback is at capacity: {reason}", Soon),
        Rejection.FallbackTimeout => new(503, "server_error", "fallback_timeout", $"The turn waited too long for the HTTP fallback: {reason}", Soon),
        Rejection.WarmupNeedsWebSocket => new(409, "invalid_request_error", "warmup_unavailable", reason ?? "a warm-up needs WebSocket mode"),
        Rejection.SessionRestarting => new(503, "server_error", "session_restarting", $"The session is restarting: {reason}", Soon),
        Rejection.TenantSessionLimit => new(429, "rate_limit_error", "too_many_sessions", reason ?? "the tenant is at its session limit", Soon),
        Rejection.ShuttingDown => new(503, "server_error", "shutting_down", reason ?? "The gateway is shutting down; retry on another instance.", Soon),
        _ => new(409, "invalid_request_error", "turn_rejected", reason ?? "rejected"),
    };

    /// <summary>A turn that ended without a response to pass on; null when its upstream error is passed on as it is.</summary>
    public static GatewayError? For(TurnEnd end) => end switch
    {
        { Outcome: TurnOutcome.Rejected, Rejection: { } rejection } => For(rejection, end.Reason),
        { Outcome: TurnOutcome.Rejected } => new(409, "invalid_request_error", "turn_rejected", end.Reason ?? "rejected"),
        { Outcome: TurnOutcome.Cancelled } => new(499, "invalid_request_error", TurnOutcome.Cancelled.Name(), end.Reason ?? TurnOutcome.Cancelled.Name()),
        { Error: { Origin: not ErrorOrigin.Transport } } => null,
        _ => new(502, "server_error", end.Error?.Code ?? "upstream_unavailable", $"The upstream could not be reached: {end.Reason}"),
    };

    public static Task WriteAsync(HttpContext context, GatewayError error) =>
        OpenAIErrors.WriteAsync(context, error.Status, error.Message, error.Type, code: error.Code, retryAfter: error.RetryAfter);
}
