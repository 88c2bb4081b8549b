namespace Fantasy.Actors.Contract;

/// <summary>How a turn went out, for logs and traces.</summary>
/// <param name="Replays">How many times the turn was sent again, invisibly, before its first event reached the caller.</param>
/// <param name="ConnectionEpoch">The session's connection that carried it (0 over HTTP).</param>
/// <param name="BytesSent">The size of the request that went upstream last (the WebSocket frame or the HTTP body).</param>
/// <param name="TransportReason">Why this transport (over HTTP: the fallback's reason).</param>
public sealed record TurnDiagnostics(int Replays, long ConnectionEpoch, int BytesSent, string? TransportReason);
