namespace Fantasy.Actors.Simulator;

/// <summary>A refused WebSocket upgrade or a failed HTTP POST: plain HTTP status, headers and an error body.</summary>
public sealed record HttpFault(
    int Status,
    string? Code = null,
    string? Message = null,
    TimeSpan? RetryAfter = null,
    TimeSpan? RetryAfterMs = null,
    bool? ShouldRetry = null,
    string? Type = null);
