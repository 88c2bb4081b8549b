namespace Fantasy.Actors.Contract;

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
