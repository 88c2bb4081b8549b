using System.Globalization;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// What an upstream said of an organization's budget in one answer's <c>x-ratelimit-*</c> headers: for requests and
/// for tokens, the limit, what remains, and when it is whole again. Null fields were not sent (or not readable).
/// </summary>
/// <param name="Requests">The <c>…-requests</c> headers.</param>
/// <param name="Tokens">The <c>…-tokens</c> headers.</param>
public sealed record RateLimitSnapshot(RateLimitBucket Requests, RateLimitBucket Tokens)
{
    /// <summary>
    /// The snapshot in <paramref name="headers"/> (names compared without case); null when none of the six headers is
    /// there. A value that cannot be read leaves its field null rather than failing: the headers advise, they do not
    /// decide whether a turn ran.
    /// </summary>
    public static RateLimitSnapshot? FromHeaders(IEnumerable<KeyValuePair<string, string>> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        long? limitRequests = null, remainingRequests = null, limitTokens = null, remainingTokens = null;
        TimeSpan? resetRequests = null, resetTokens = null;
        var any = false;
        foreach (var (name, value) in headers)
        {
            if (!name.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            switch (name.ToLowerInvariant())
            {
                case "x-ratelimit-limit-requests": limitRequests = Count(value); break;
                case "x-ratelimit-remaining-requests": remainingRequests = Count(value); break;
                case "x-ratelimit-reset-requests": resetRequests = Duration(value); break;
                case "x-ratelimit-limit-tokens": limitTokens = Count(value); break;
                case "x-ratelimit-remaining-tokens": remainingTokens = Count(value); break;
                case "x-ratelimit-reset-tokens": resetTokens = Duration(value); break;
                default: continue;
            }

            any = true;
        }

        return any
            ? new RateLimitSnapshot(new RateLimitBucket(limitRequests, remainingRequests, resetRequests), new RateLimitBucket(limitTokens, remainingTokens, resetTokens))
            : null;
    }

    private static long? Count(string value) =>
        long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static TimeSpan? Duration(string value) => RateLimitDuration.TryParse(value, out var d) ? d : null;
}

/// <summary>One budget (requests or tokens): its limit, what remains, and when it is whole again, as last said.</summary>
public readonly record struct RateLimitBucket(long? Limit, long? Remaining, TimeSpan? Reset);

/// <summary>
/// The durations of the <c>x-ratelimit-reset-*</c> headers: Go's format as the API writes it (<c>6ms</c>,
/// <c>59.714s</c>, <c>6m0s</c>, <c>1h2m3.5s</c>, <c>250us</c>), or a bare number of seconds.
/// </summary>
public static class RateLimitDuration
{
    /// <summary>A duration as the service writes it in headers: <c>6ms</c>, <c>1.146s</c>, <c>6m0s</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.FromMinutes(1))
        {
            return FormatWait(duration);
        }

        var seconds = Math.Ceiling(duration.TotalSeconds % 60 * 1000) / 1000;
        return ((long)duration.TotalMinutes).ToString(CultureInfo.InvariantCulture) + "m" + seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }

    /// <summary>A wait as the service writes it in "Please try again in …": <c>250ms</c>, <c>1.146s</c>, <c>75s</c>.</summary>
    public static string FormatWait(TimeSpan wait) =>
        wait < TimeSpan.FromSeconds(1)
            ? ((long)Math.Ceiling(wait.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms"
            : (Math.Ceiling(wait.TotalSeconds * 1000) / 1000).ToString("0.###", CultureInfo.InvariantCulture) + "s";

    /// <summary>Reads <paramref name="text"/>; false (and zero) when it is not such a duration or is negative.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.AsSpan().Trim();
        if (s.IsEmpty)
        {
            return false;
        }

        if (double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var bare))
        {
            value = TimeSpan.FromSeconds(bare);
            return true;
        }

        var total = 0.0; // milliseconds
        while (!s.IsEmpty)
        {
            var digits = 0;
            while (digits < s.Length && (char.IsAsciiDigit(s[digits]) || s[digits] == '.'))
            {
                digits++;
            }

            if (digits == 0 || !double.TryParse(s[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            s = s[digits..];
            var unit = 0;
            while (unit < s.Length && char.IsAsciiLetter(s[unit]) || unit < s.Length && s[unit] == 'µ')
            {
                unit++;
            }

            double? scale = s[..unit] switch
            {
                "h" => 3_600_000,
                "m" => 60_000,
                "s" => 1_000,
                "ms" => 1,
                "us" or "µs" => 0.001,
                "ns" => 0.000_001,
                _ => null,
            };
            if (scale is not { } ms)
            {
                return false;
            }

            total += number * ms;
            s = s[unit..];
        }

        value = TimeSpan.FromMilliseconds(total);
        return true;
    }
}
