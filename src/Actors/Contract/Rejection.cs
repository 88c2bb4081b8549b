namespace Fantasy.Actors.Contract;

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

    /// <summary>
    /// The conversation store is unavailable and <c>fantasy.persistence.on-failure</c> is <c>refuse</c>: the turn was not
    /// run (nothing of it could be made durable). Retry after a short wait.
    /// </summary>
    PersistenceUnavailable,

    /// <summary>The service is shutting down.</summary>
    ShuttingDown,
}
