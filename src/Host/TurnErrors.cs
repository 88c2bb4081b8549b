using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>An OpenAI-shaped error the gateway answers with.</summary>
internal sealed record GatewayError(int Status, string Type, string Code, string Message, TimeSpan? RetryAfter = null, string? Param = null);

/// <summary>Why the gateway refused a turn's request before it reached a session.</summary>
internal enum RequestProblem
{
    /// <summary>The body is larger than <c>Fantasy:Gateway:MaxBodyBytes</c>.</summary>
    TooLarge,

    /// <summary>The body is not a valid create request (bad JSON, a field of the wrong type).</summary>
    InvalidJson,

    /// <summary>No <c>model</c>.</summary>
    MissingModel,

    /// <summary>An <c>X-Session-Id</c> that is not 1–128 characters of the allowed set.</summary>
    InvalidSessionId,

    /// <summary>A <c>previous_response_id</c> this tenant did not produce.</summary>
    UnknownPreviousResponse,

    /// <summary><c>background: true</c>: WebSocket mode has no background responses, and the gateway does not run them over HTTP.</summary>
    BackgroundUnsupported,

    /// <summary>Whether the tenant owns the <c>previous_response_id</c> could not be read (the conversation store is unavailable).</summary>
    OwnershipUnknown,

    /// <summary>A <c>conversation</c> this tenant did not create.</summary>
    UnknownConversation,
}

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
        Rejection.PersistenceUnavailable => new(503, "server_error", "persistence_unavailable", reason ?? "The conversation store is unavailable.", TimeSpan.FromSeconds(5)),
        Rejection.ShuttingDown => new(503, "server_error", "shutting_down", reason ?? "The gateway is shutting down; retry on another instance.", Soon),
        _ => new(409, "invalid_request_error", "turn_rejected", reason ?? "rejected"),
    };

    /// <summary>A request refused before it reached a session.</summary>
    public static GatewayError For(RequestProblem problem, string message, string? param) => problem switch
    {
        RequestProblem.TooLarge => new(400, "invalid_request_error", "request_too_large", message, Param: param),
        RequestProblem.InvalidJson => new(400, "invalid_request_error", "invalid_json", message, Param: param),
        RequestProblem.MissingModel => new(400, "invalid_request_error", "missing_required_parameter", message, Param: param),
        RequestProblem.InvalidSessionId => new(400, "invalid_request_error", "invalid_session_id", message, Param: param),
        RequestProblem.OwnershipUnknown => new(503, "server_error", "persistence_unavailable", message, TimeSpan.FromSeconds(5), param),
        RequestProblem.BackgroundUnsupported => new(400, "invalid_request_error", "unsupported_parameter", message, Param: param),
        RequestProblem.UnknownConversation => new(404, "invalid_request_error", "conversation_not_found", message, Param: param),

        // As the API answers an id it does not know: 400, so an SDK raises its bad-request error, not not-found.
        _ => new(400, "invalid_request_error", "previous_response_not_found", message, Param: param),
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
        OpenAIErrors.WriteAsync(context, error.Status, error.Message, error.Type, error.Param, error.Code, error.RetryAfter);
}
