namespace Fantasy.Actors.Simulator;

/// <summary>What happens to one response (one turn) besides the scripted model.</summary>
public sealed record TurnFaults
{
    /// <summary>
    /// End the stream after this many events of the response, with no terminal event: over WebSocket the
    /// TCP stream ends with no close frame; over HTTP the SSE body ends.
    /// </summary>
    public int? CloseAfterEvents { get; init; }

    /// <summary>Answer with an <c>error</c> event (WS shape over WebSocket, HTTP error reply over HTTP) instead of a response.</summary>
    public (int Status, string Code, string Message)? Error { get; init; }

    /// <summary>End the response with <c>response.failed</c> carrying this code.</summary>
    public string? FailWithCode { get; init; }

    /// <summary>Send a frame that is not JSON right after <c>response.created</c>.</summary>
    public bool MalformedFrame { get; init; }

    /// <summary>Send a valid delta frame of about this many bytes right after <c>response.created</c>.</summary>
    public int? OversizedFrameBytes { get; init; }

    /// <summary>Send nothing for this long right after <c>response.created</c>.</summary>
    public TimeSpan? Stall { get; init; }

    /// <summary>Over SSE: after this many events send a flat <c>error</c> event and end the stream.</summary>
    public (int AfterEvents, string Code, string Message)? SseError { get; init; }

    public static readonly TurnFaults None = new();
}
