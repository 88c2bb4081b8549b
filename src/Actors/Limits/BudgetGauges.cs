using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Fantasy.Actors.Limits;

/// <summary>What each budget actor last published for the metrics (read at each collection, from any thread).</summary>
internal static class BudgetGauges
{
    private static readonly ConcurrentDictionary<string, Published> Budgets = new(StringComparer.Ordinal);

    /// <summary>A budget's published levels: replaced whole by its actor, read whole by a collection.</summary>
    internal sealed record Published(long? RequestsRemaining, long? TokensRemaining, IReadOnlyList<(string Tenant, int Waiting)> Waiting);

    public static void Publish(string budget, Published levels) => Budgets[budget] = levels;

    public static void Forget(string budget) => Budgets.TryRemove(budget, out _);

    public static IEnumerable<Measurement<long>> Remaining()
    {
        foreach (var (name, p) in Budgets)
        {
            if (p.RequestsRemaining is { } r)
            {
                yield return new Measurement<long>(r, new("fantasy.budget", name), new("fantasy.limit", "requests"));
            }

            if (p.TokensRemaining is { } t)
            {
                yield return new Measurement<long>(t, new("fantasy.budget", name), new("fantasy.limit", "tokens"));
            }
        }
    }

    public static IEnumerable<Measurement<long>> Waiting()
    {
        foreach (var (name, p) in Budgets)
        {
            foreach (var (tenant, waiting) in p.Waiting)
            {
                yield return new Measurement<long>(waiting, new("fantasy.budget", name), new("fantasy.tenant", tenant));
            }
        }
    }
}
