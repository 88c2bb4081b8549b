namespace Fantasy.Actors.Configuration;

public sealed record HttpSettings(
    int MaxRetries,
    TimeSpan InitialBackoff,
    TimeSpan MaxBackoff,
    TimeSpan MaxRetryDelay,
    TimeSpan RequestTimeout,
    int MaxInFlight,
    int MaxWaiting,
    TimeSpan WaitTimeout);
