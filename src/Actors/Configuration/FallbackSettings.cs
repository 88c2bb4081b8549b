namespace Fantasy.Actors.Configuration;

public sealed record FallbackSettings(TimeSpan Cooldown, double BackoffFactor, TimeSpan MaxCooldown);
