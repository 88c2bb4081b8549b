using Fantasy.Actors.Protocol;
using System.Globalization;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// An organization's budget shared by every connection and HTTP call of the simulator: requests and tokens per
/// minute, each a bucket that refills continuously (as the real service describes its limits), so a refusal can say
/// exactly when the next request fits ("Please try again in 1.146s") and every answer what remains. A request is charged
/// one request and its estimated tokens (its body's bytes / 4, plus what it may generate) when admitted.
/// </summary>
internal sealed class OrganizationBudget(int requestsPerMinute, int tokensPerMinute, TimeProvider time)
{
    private const int OutputTokensPerTurn = 16;
    private readonly object gate = new();
    private double requests = requestsPerMinute;
    private double tokens = tokensPerMinute;
    private long refilledAt = time.GetTimestamp();

    public bool Enabled => requestsPerMinute > 0 || tokensPerMinute > 0;

    /// <summary>The tokens a request of <paramref name="bodyBytes"/> bytes is charged.</summary>
    public static int EstimateTokens(int bodyBytes) => bodyBytes / 4 + OutputTokensPerTurn;

    /// <summary>Admits and charges the request, or says which limit refused it and when the request would fit.</summary>
    public (bool Admitted, string? Limit, TimeSpan Wait) TryAdmit(int estimatedTokens)
    {
        lock (gate)
        {
            Refill();
            if (requestsPerMinute > 0 && requests < 1)
            {
                return (false, "requests", TimeSpan.FromMinutes((1 - requests) / requestsPerMinute));
            }

            // A request larger than the whole budget waits for a full bucket (and leaves it in debt), not forever.
            var need = Math.Min(estimatedTokens, tokensPerMinute);
            if (tokensPerMinute > 0 && tokens < need)
            {
                return (false, "tokens", TimeSpan.FromMinutes((need - tokens) / tokensPerMinute));
            }

            requests -= 1;
            tokens -= estimatedTokens;
            return (true, null, TimeSpan.Zero);
        }
    }

    /// <summary>The <c>x-ratelimit-*</c> headers as of now: limits, what remains, and when each bucket is full again.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers()
    {
        lock (gate)
        {
            Refill();
            var list = new List<KeyValuePair<string, string>>(6);
            if (requestsPerMinute > 0)
            {
                list.Add(new("x-ratelimit-limit-requests", requestsPerMinute.ToString(CultureInfo.InvariantCulture)));
                list.Add(new("x-ratelimit-remaining-requests", ((long)Math.Floor(Math.Max(0, requests))).ToString(CultureInfo.InvariantCulture)));
                list.Add(new("x-ratelimit-reset-requests", Format(TimeSpan.FromMinutes((requestsPerMinute - requests) / requestsPerMinute))));
            }

            if (tokensPerMinute > 0)
            {
                list.Add(new("x-ratelimit-limit-tokens", tokensPerMinute.ToString(CultureInfo.InvariantCulture)));
                list.Add(new("x-ratelimit-remaining-tokens", ((long)Math.Floor(Math.Max(0, tokens))).ToString(CultureInfo.InvariantCulture)));
                list.Add(new("x-ratelimit-reset-tokens", Format(TimeSpan.FromMinutes((tokensPerMinute - tokens) / tokensPerMinute))));
            }

            return list;
        }
    }

    /// <summary>A duration as the service writes it in headers (<see cref="RateLimitDuration.Format"/>).</summary>
    public static string Format(TimeSpan duration) => RateLimitDuration.Format(duration);

    /// <summary>A wait as the service writes it in "Please try again in …" (<see cref="RateLimitDuration.FormatWait"/>).</summary>
    public static string FormatWait(TimeSpan wait) => RateLimitDuration.FormatWait(wait);

    private void Refill()
    {
        var now = time.GetTimestamp();
        var minutes = time.GetElapsedTime(refilledAt, now).TotalMinutes;
        refilledAt = now;
        requests = Math.Min(requestsPerMinute, requests + minutes * requestsPerMinute);
        tokens = Math.Min(tokensPerMinute, tokens + minutes * tokensPerMinute);
    }
}
