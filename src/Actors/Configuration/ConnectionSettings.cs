namespace Fantasy.Actors.Configuration;

public sealed record ConnectionSettings(
    TimeSpan MaxAge,
    TimeSpan MaxAgeJitter,
    TimeSpan ConnectTimeout,
    TimeSpan KeepAliveInterval,
    long MaxMessageSize,
    TimeSpan TurnWatchdog,
    bool KeepRawEvents = false);
