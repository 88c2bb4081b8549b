namespace Fantasy.Actors.Configuration;

/// <summary>
/// The <c>fantasy.rate-limits</c> settings: whether sessions share their upstream credential's budget, how long to
/// hold after a bare 429, how a turn's tokens are estimated, and each tenant's weight when turns wait for the budget.
/// </summary>
public sealed record RateLimitSettings(bool Enabled, TimeSpan DefaultHold, int BytesPerToken, IReadOnlyDictionary<string, double> Weights)
{
    /// <summary>Sharing on, 1 s hold, 4 bytes a token, every tenant weighing 1.</summary>
    public static readonly RateLimitSettings Default = new(true, TimeSpan.FromSeconds(1), 4, new Dictionary<string, double>(StringComparer.Ordinal));

    /// <summary>The weight of <paramref name="tenant"/>: as configured, else 1.</summary>
    public double WeightOf(string tenant) => Weights.TryGetValue(tenant, out var w) ? w : 1.0;

    /// <summary>Equal when every setting and every weight is.</summary>
    public bool Equals(RateLimitSettings? other) =>
        other is not null && Enabled == other.Enabled && DefaultHold == other.DefaultHold && BytesPerToken == other.BytesPerToken
        && Weights.Count == other.Weights.Count && Weights.All(w => other.Weights.TryGetValue(w.Key, out var v) && v == w.Value);

    public override int GetHashCode() => HashCode.Combine(Enabled, DefaultHold, BytesPerToken, Weights.Count);
}
