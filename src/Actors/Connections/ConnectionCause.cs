namespace Fantasy.Actors.Connections;

/// <summary>
/// Why a connection stopped a turn (<see cref="ConnectionProtocol.TurnInterrupted"/>) or closed
/// (<see cref="ConnectionProtocol.ConnectionClosed"/>). Decisions and tests read this; the report's reason text is for
/// logs and people.
/// </summary>
internal enum ConnectionCause
{
    /// <summary>The WebSocket upgrade did not succeed (refused, timed out, unreachable).</summary>
    ConnectFailed,

    /// <summary>A close the session asked for (rotation, idle close), now or after the running turn.</summary>
    PlannedClose,

    /// <summary>The server closed the connection (with or without a close frame).</summary>
    ServerClosed,

    /// <summary>An error event, or another event, arrived with no turn running: a socket that misbehaved is not reused.</summary>
    IdleError,

    /// <summary>Sending the request frame failed.</summary>
    SendFailed,

    /// <summary>No event for <c>connection.turn-watchdog</c>.</summary>
    Watchdog,

    /// <summary>A message that is not a valid event: bad JSON, a binary frame, or one above <c>connection.max-message-size</c>.</summary>
    MalformedMessage,

    /// <summary>The socket or the inbound stream failed.</summary>
    SocketFailed,

    /// <summary>The running turn was cancelled: its socket is discarded (there is no cancel event).</summary>
    TurnCancelled,

    /// <summary>The close handshake failed or the server did not answer it in time.</summary>
    CloseFailed,

    /// <summary>The connection actor stopped (its session stopped or replaced it).</summary>
    Stopped,
}

/// <summary>Why a connection did not take a turn (<see cref="ConnectionProtocol.TurnRefused"/>).</summary>
internal enum RefusalCause
{
    /// <summary>It already holds a turn, or the previous send has not completed.</summary>
    Busy,

    /// <summary>It is closing.</summary>
    Closing,
}
