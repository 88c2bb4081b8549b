using System.Globalization;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>A tenant's limits on its answers: the <c>x-ratelimit-*</c> headers, and the 429 the official SDKs retry.</summary>
internal static class TenantHeaders
{
    /// <summary>Sets (or replaces) the answer's <c>x-ratelimit-*</c> headers; nothing without limits or once the answer started.</summary>
    public static void Write(HttpContext context, IReadOnlyList<KeyValuePair<string, string>>? headers)
    {
        if (headers is null || context.Response.HasStarted)
        {
            return;
        }

        foreach (var (name, value) in headers)
        {
            context.Response.Headers[name] = value;
        }
    }

    /// <summary>
    /// 429 <c>rate_limit_exceeded</c> in the API's words and headers — <c>Retry-After</c>, <c>retry-after-ms</c> and
    /// <c>x-ratelimit-*</c> — so an SDK waits as long as the gateway says and tries again.
    /// </summary>
    public static Task RefuseAsync(HttpContext context, TenantState tenant, TenantPermit permit)
    {
        var name = tenant.Options.Name;
        var limits = tenant.Options.Limits;
        GatewayMetrics.LimitRefused(name, permit.Limit ?? "requests");
        Write(context, permit.RefusalHeaders);
        context.Response.Headers["retry-after-ms"] = ((long)Math.Ceiling(permit.RetryAfter.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
        var wait = RateLimitDuration.FormatWait(permit.RetryAfter);
        var message = permit.Limit switch
        {
            "tokens" => $"Rate limit reached for tenant {name} on tokens per min (TPM): Limit {limits.TokensPerMinute}. Please try again in {wait}.",
            "concurrent" => $"Rate limit reached for tenant {name} on concurrent turns: Limit {limits.ConcurrentTurns}, and {limits.MaxQueued} may wait {limits.MaxWait.TotalSeconds:0.###}s for a place. Please try again in {wait}.",
            _ => $"Rate limit reached for tenant {name} on requests per min (RPM): Limit {limits.RequestsPerMinute}. Please try again in {wait}.",
        };
        return OpenAIErrors.WriteAsync(context, 429, message, permit.Limit == "concurrent" ? "requests" : permit.Limit ?? "requests", null, "rate_limit_exceeded", permit.RetryAfter);
    }
}
