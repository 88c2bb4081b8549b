using Fantasy.Actors.Protocol;

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

/// <summary>Why the service did not take a turn (<see cref="TurnOutcome.Rejected"/>). Every one is retryable later.</summary>
public enum Rejection
{
    /// <summary>The session's queue is full (<c>session.max-queued-turns</c>).</summary>
    QueueFull,

    /// <summary>The turn waited longer than <c>session.queue-wait-timeout</c> for its session.</summary>
    QueueTimeout,

    /// <summary>The HTTP fallback has no room: its in-flight and waiting turns are at their bounds.</summary>
    FallbackBusy,

    /// <summary>The turn waited longer than <c>http.wait-timeout</c> for an HTTP fallback slot.</summary>
    FallbackTimeout,

    /// <summary>A <c>generate:false</c> warm-up on a conversation that is on HTTP (warm-ups need WebSocket mode).</summary>
    WarmupNeedsWebSocket,

    /// <summary>The session is restarting and too many messages already wait for it.</summary>
    SessionRestarting,

    /// <summary>The tenant is at its session limit (the gateway's <c>MaxSessions</c>).</summary>
    TenantSessionLimit,

    /// <summary>The service is shutting down.</summary>
    ShuttingDown,
}

/// <summary>The transport a turn ran on.</summary>
public enum Transport
{
    /// <summary>It never went out.</summary>
    None,
    WebSocket,
    Http,
}

/// <summary>Wire names of the contract's enums.</summary>
public static class ContractNames
{
    /// <summary>The outcome's lower-case name (metrics labels, span attributes).</summary>
    public static string Name(this TurnOutcome outcome) => outcome switch
    {
        TurnOutcome.Completed => "completed",
        TurnOutcome.Incomplete => "incomplete",
        TurnOutcome.Failed => "failed",
        TurnOutcome.Cancelled => "cancelled",
        _ => "rejected",
    };

    /// <summary><c>none</c>, <c>connecting</c> or <c>open</c>: the names the sessions API and the cluster's wire format use.</summary>
    public static string Name(this ConnectionState state) => state switch
    {
        ConnectionState.Open => "open",
        ConnectionState.Connecting => "connecting",
        _ => "none",
    };

    /// <summary>The state a <see cref="Name(ConnectionState)"/> names; <see cref="ConnectionState.None"/> for any other text.</summary>
    public static ConnectionState ParseConnectionState(string? name) => name switch
    {
        "open" => ConnectionState.Open,
        "connecting" => ConnectionState.Connecting,
        _ => ConnectionState.None,
    };

    /// <summary><c>websocket</c>, <c>http</c> or <c>none</c>: the names the gateway's headers and metrics use.</summary>
    public static string Name(this Transport transport) => transport switch
    {
        Transport.WebSocket => "websocket",
        Transport.Http => "http",
        _ => "none",
    };
}

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

/// <summary>How a turn went out, for logs and traces.</summary>
/// <param name="Replays">How many times the turn was sent again, invisibly, before its first event reached the caller.</param>
/// <param name="ConnectionEpoch">The session's connection that carried it (0 over HTTP).</param>
/// <param name="BytesSent">The size of the request that went upstream last (the WebSocket frame or the HTTP body).</param>
/// <param name="TransportReason">Why this transport (over HTTP: the fallback's reason).</param>
public sealed record TurnDiagnostics(int Replays, long ConnectionEpoch, int BytesSent, string? TransportReason);
