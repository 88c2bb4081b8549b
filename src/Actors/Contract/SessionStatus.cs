namespace Fantasy.Actors.Contract;

/// <summary>
/// A session's state for status pages and logs; <see cref="Transport"/> is the transport its next turn would take.
/// <see cref="Busy"/>: a turn is running upstream. <see cref="WaitingForBudget"/>: its next turn waits for the upstream
/// credential's budget (<c>fantasy.rate-limits</c>), nothing running.
/// </summary>
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
    long UnreadBytes = 0,
    bool WaitingForBudget = false) : Cluster.IClusterMessage;
