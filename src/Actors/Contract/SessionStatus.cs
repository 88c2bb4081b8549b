namespace Fantasy.Actors.Contract;

/// <summary>The state of a session's WebSocket connection.</summary>
public enum ConnectionState
{
    /// <summary>No connection: none was needed yet, it was closed when idle, or the conversation is on HTTP.</summary>
    None,

    /// <summary>Opening: the upgrade has not been answered yet.</summary>
    Connecting,

    /// <summary>Open and usable.</summary>
    Open,
}

/// <summary>A session's state for status pages and logs; <see cref="Transport"/> is the transport its next turn would take.</summary>
public sealed record SessionStatus(
    string SessionId,
    long ConnectionEpoch,
    ConnectionState ConnectionState,
    TimeSpan? ConnectionAge,
    bool? LastTurnChained,
    int Turns,
    int Rotations,
    int Replays,
    int Fallbacks,
    int QueueLength,
    bool Busy,
    Transport Transport,
    string TransportReason,
    int UnreadEvents = 0,
    long UnreadBytes = 0) : Cluster.IClusterMessage;
