namespace Fantasy.Actors.Configuration;

public sealed record SessionSettings(
    int MaxQueuedTurns,
    TimeSpan QueueWaitTimeout,
    TimeSpan IdleCloseAfter,
    int MaxTranscriptItems,
    bool WarmOnRotate,
    TimeSpan SessionIdleTimeout,
    int ConsumerWindow,
    TimeSpan OrphanedTurnTimeout,
    long ConsumerWindowBytes);
