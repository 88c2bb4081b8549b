using System.Diagnostics;
using System.Globalization;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// Warm-up rounds until the process is in its steady state: at least <c>minimum</c>, then until two rounds in a row
/// compiled fewer than <see cref="SettledBelow"/> methods (tiered compilation's rejits of hot code come in waves long
/// after the first minute of a short warm-up; measured before it settled, "steady" CPU carried up to 40 % JIT), at
/// most <see cref="Longest"/>. Only this process's compilations are seen (a gateway's are not).
/// </summary>
internal static class Warmup
{
    private const int SettledBelow = 5;
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(120);

    public static async Task<string> UntilSettledAsync(Func<Task> round, TimeSpan minimum)
    {
        var clock = Stopwatch.StartNew();
        var rounds = 0;
        var quiet = 0;
        long last;
        do
        {
            var before = System.Runtime.JitInfo.GetCompiledMethodCount();
            await round().ConfigureAwait(false);
            rounds++;
            last = System.Runtime.JitInfo.GetCompiledMethodCount() - before;
            quiet = last < SettledBelow ? quiet + 1 : 0;
        }
        while (clock.Elapsed < minimum || (quiet < 2 && clock.Elapsed < Longest));

        return string.Create(CultureInfo.InvariantCulture,
            $"warm-up {clock.Elapsed.TotalSeconds:F1} s, {rounds} rounds, {last} methods compiled in the last round{(quiet < 2 ? " (not settled)" : string.Empty)}");
    }

    /// <summary>Runs of the measured run's own shape until one compiles fewer than 20 methods, at most 120 s.</summary>
    public static async Task<string> ShapedAsync(Func<int, Task> run)
    {
        var clock = Stopwatch.StartNew();
        var runs = 0;
        long compiled;
        do
        {
            var before = System.Runtime.JitInfo.GetCompiledMethodCount();
            await run(runs++).ConfigureAwait(false);
            compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - before;
        }
        while (compiled >= 20 && clock.Elapsed < Longest);

        return string.Create(CultureInfo.InvariantCulture,
            $"; then {runs} run(s) of the measured shape ({clock.Elapsed.TotalSeconds:F1} s, {compiled} methods compiled in the last{(compiled >= 20 ? ", not settled" : string.Empty)})");
    }
}
