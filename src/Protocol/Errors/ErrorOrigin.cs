namespace Fantasy.Actors.Protocol;

/// <summary>Where an error came from; it decides which wire shape was read.</summary>
public enum ErrorOrigin
{
    /// <summary>A WebSocket <c>error</c> frame: <c>{"type":"error","status":…,"error":{…}}</c>.</summary>
    WebSocketFrame,

    /// <summary>An SSE <c>error</c> event: flat <c>{"type":"error","code":…,"message":…}</c>.</summary>
    SseEvent,

    /// <summary>An HTTP error reply: <c>{"error":{…}}</c> plus status and headers.</summary>
    HttpResponse,

    /// <summary>A WebSocket upgrade answered with plain HTTP instead of 101.</summary>
    RefusedUpgrade,

    /// <summary>The <c>error</c> of a <c>response.failed</c> Response.</summary>
    FailedResponse,

    /// <summary>No answer at all: connection refused, DNS, TLS, timeout.</summary>
    Transport,
}
