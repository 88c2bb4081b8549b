namespace Fantasy.Actors.Testing;

/// <summary>How long specs wait, and the one way they poll (linked into each test project, imported as a static using).</summary>
internal static class Waiting
{
    /// <summary>
    /// How long a spec waits for what should happen. Generous on purpose: the suite runs many specs at once on two
    /// cores, and a spec that passes never waits it out — it is a bound on failure, not a pace.
    /// </summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Polls <paramref name="condition"/> every <paramref name="every"/> (default 20 ms) until it holds, for at most
    /// <see cref="Patience"/>; then fails with <paramref name="what"/>, which is asked for only then.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition().ConfigureAwait(false))
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"not within {Patience}: {what()}");
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
        }
    }

    public static Task UntilAsync(Func<bool> condition, Func<string> what, TimeSpan? every = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, every);
}
