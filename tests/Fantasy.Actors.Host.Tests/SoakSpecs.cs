using Fantasy.Actors.Soak;
using Xunit.Abstractions;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The soak runner's short variant: a gateway under random upstream faults, every turn classified.</summary>
public sealed class SoakSpecs(ITestOutputHelper output)
{
    private sealed class OutputWriter(ITestOutputHelper output) : StringWriter
    {
        public override Task WriteLineAsync(string? value)
        {
            output.WriteLine(value ?? string.Empty);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Under_random_upstream_faults_every_turn_ends_once_with_the_right_context()
    {
        using var writer = new OutputWriter(output);
        var report = await SoakRun.RunAsync(new SoakOptions { Sessions = 60, Turns = 8, TurnDeadline = TimeSpan.FromSeconds(60) }, writer);
        output.WriteLine(report.ToString());
        foreach (var (detail, count) in report.Failures)
        {
            output.WriteLine($"{count} × {detail}");
        }

        Assert.Equal(0, report[TurnClass.Hung]);
        Assert.Equal(0, report[TurnClass.TwoTerminals]);
        Assert.Equal(0, report[TurnClass.NoTerminal]);
        Assert.Equal(0, report[TurnClass.ReplayedAfterFirstEvent]);
        Assert.Equal(0, report[TurnClass.WrongContext]);

        // The faults were real: some turns failed or were abandoned, and most still completed.
        Assert.True(report.FaultsInjected > 0);
        Assert.True(report[TurnClass.Completed] >= 60 * 8 * 8 / 10, report.ToString());
        Assert.True(report.Attempts > report[TurnClass.Completed], report.ToString());
    }
}
