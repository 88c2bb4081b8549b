using System.Security.Cryptography;
using System.Text;

namespace Fantasy.Actors.Host;

/// <summary>One tenant: the gateway keys its clients present, and optional own upstream and limits.</summary>
internal sealed record TenantOptions(
    string Name,
    IReadOnlyList<string> Keys,
    string? UpstreamApiKey,
    Uri? UpstreamBaseUrl,
    int? MaxSessions,
    int? MaxQueuedTurns)
{
    /// <summary>The tenant's rate limits at the gateway (<c>Limits:*</c>); none by default.</summary>
    public TenantLimits Limits { get; init; } = TenantLimits.None;

    /// <summary>The tenant's share when turns wait for the upstream's budget (<c>Weight</c>, default 1).</summary>
    public double Weight { get; init; } = 1.0;
}

/// <summary>The gateway's own settings (<c>Fantasy:Gateway:*</c>, <c>Fantasy:Tenants:*</c>).</summary>
internal sealed class GatewayOptions
{
    /// <summary>The key of the development tenant when no tenant is configured.</summary>
    public const string DevelopmentKey = "sk-fantasy-dev";

    public IReadOnlyList<TenantOptions> Tenants { get; init; } = [];

    /// <summary>Whether <see cref="Tenants"/> is the built-in development tenant.</summary>
    public bool DevelopmentTenant { get; init; }

    /// <summary>Largest accepted request body (<c>Fantasy:Gateway:MaxBodyBytes</c>, default 16 MiB).</summary>
    public long MaxBodyBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>How long shutdown waits for running turns (<c>Fantasy:Gateway:DrainTimeout</c>, default 30 s).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Response ids remembered per tenant for chaining checks (<c>Fantasy:Gateway:ResponseIdsPerTenant</c>).</summary>
    public int ResponseIdsPerTenant { get; init; } = 100_000;

    /// <summary>
    /// Responses kept per tenant so <c>GET /v1/responses/{id}</c> and <c>/input_items</c> answer them from the gateway, also
    /// <c>store:false</c> ones (<c>Fantasy:Gateway:KeptResponsesPerTenant</c>, default 1000; the newest are kept).
    /// </summary>
    public int KeptResponsesPerTenant { get; init; } = 1000;

    /// <summary>How long <c>GET /v1/models</c> is answered from the gateway's copy (<c>Fantasy:Gateway:ModelsCacheDuration</c>, default 60 s; 0 turns it off).</summary>
    public TimeSpan ModelsCacheDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The paths under <c>/v1</c> passed through for a tenant on the gateway's shared upstream key
    /// (<c>Fantasy:Gateway:SharedPassThrough</c>): the upstream account is shared, so only endpoints whose ids the
    /// gateway keeps apart by tenant (responses, conversations) or that hold no state are. A tenant with its own
    /// <c>UpstreamApiKey</c> has every path passed through. An entry is a path's first segments (<c>chat/completions</c>).
    /// </summary>
    public IReadOnlyList<string> SharedPassThrough { get; init; } = DefaultSharedPassThrough;

    public static readonly IReadOnlyList<string> DefaultSharedPassThrough = ["models", "responses", "conversations", "embeddings", "moderations"];

    /// <summary><c>Fantasy:Gateway:MetricsKey</c>: when set, <c>/metrics</c> answers anyone presenting it as a bearer key.</summary>
    public string? MetricsKey { get; init; }

    /// <summary><c>Fantasy:Gateway:MetricsLoopbackOnly</c> (default true): without the key, <c>/metrics</c> answers only loopback clients.</summary>
    public bool MetricsLoopbackOnly { get; init; } = true;

    /// <summary>
    /// <c>Fantasy:Gateway:WarmUp</c> (default true): before it listens, the gateway runs a short conversation through
    /// its own code against a throwaway simulator on loopback (nothing goes to the upstream), so the first turns of a
    /// fresh process do not pay for compiling and loading it.
    /// </summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>The tenants' weights as <c>fantasy.rate-limits.weights</c> HOCON (empty when every tenant weighs 1).</summary>
    public string WeightsHocon() => string.Join('\n', Tenants.Where(t => t.Weight != 1.0)
        .Select(t => $"fantasy.rate-limits.weights.\"{t.Name}\" = {t.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));

    public static GatewayOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var tenants = new List<TenantOptions>();
        foreach (var section in configuration.GetSection("Fantasy:Tenants").GetChildren())
        {
            var keys = section.GetSection("Keys").GetChildren().Select(k => k.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!).ToList();
            if (keys.Count == 0)
            {
                throw new InvalidOperationException($"Fantasy:Tenants:{section.Key}:Keys is empty: a tenant needs at least one gateway key");
            }

            if (!Contract.SessionKey.IsValidPart(section.Key))
            {
                throw new InvalidOperationException($"Fantasy:Tenants:{section.Key}: a tenant name must be 1–128 characters of letters, digits, '_', '.', ':' or '-'");
            }

            tenants.Add(new TenantOptions(
                section.Key,
                keys,
                NullIfEmpty(section["UpstreamApiKey"]),
                NullIfEmpty(section["UpstreamBaseUrl"]) is { } url ? new Uri(url) : null,
                section.GetValue<int?>("MaxSessions"),
                section.GetValue<int?>("MaxQueuedTurns"))
            {
                Limits = TenantLimits.From(section),
                Weight = section.GetValue<double?>("Weight") is { } weight
                    ? weight > 0 && double.IsFinite(weight) ? weight : throw new InvalidOperationException($"Fantasy:Tenants:{section.Key}:Weight must be a positive number, was {weight}")
                    : 1.0,
            });
        }

        var gateway = configuration.GetSection("Fantasy:Gateway");
        return new GatewayOptions
        {
            Tenants = tenants.Count > 0 ? tenants : [new TenantOptions("dev", [DevelopmentKey], null, null, null, null)],
            DevelopmentTenant = tenants.Count == 0,
            MaxBodyBytes = gateway.GetValue<long?>("MaxBodyBytes") ?? 16 * 1024 * 1024,
            DrainTimeout = gateway.GetValue<TimeSpan?>("DrainTimeout") ?? TimeSpan.FromSeconds(30),
            ResponseIdsPerTenant = gateway.GetValue<int?>("ResponseIdsPerTenant") ?? 100_000,
            MetricsKey = string.IsNullOrWhiteSpace(gateway["MetricsKey"]) ? null : gateway["MetricsKey"],
            MetricsLoopbackOnly = gateway.GetValue<bool?>("MetricsLoopbackOnly") ?? true,
            WarmUp = gateway.GetValue<bool?>("WarmUp") ?? true,
            KeptResponsesPerTenant = gateway.GetValue<int?>("KeptResponsesPerTenant") ?? 1000,
            ModelsCacheDuration = gateway.GetValue<TimeSpan?>("ModelsCacheDuration") ?? TimeSpan.FromSeconds(60),
            SharedPassThrough = gateway.GetSection("SharedPassThrough").GetChildren().Select(c => c.Value?.Trim('/')).Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToList() is { Count: > 0 } shared
                ? shared
                : DefaultSharedPassThrough,
        };
    }

    /// <summary>The tenant a presented key belongs to (constant-time comparison of every key).</summary>
    public TenantOptions? Authenticate(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return null;
        }

        var presentedBytes = Encoding.UTF8.GetBytes(presented);
        TenantOptions? found = null;
        foreach (var tenant in Tenants)
        {
            foreach (var key in tenant.Keys)
            {
                if (CryptographicOperations.FixedTimeEquals(presentedBytes, Encoding.UTF8.GetBytes(key)))
                {
                    found ??= tenant;
                }
            }
        }

        return found;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
