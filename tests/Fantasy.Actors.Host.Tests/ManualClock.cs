namespace Fantasy.Actors.Host.Tests;

/// <summary>A clock moved by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch.AddDays(20_000);

    public override DateTimeOffset GetUtcNow() => Now;
}
