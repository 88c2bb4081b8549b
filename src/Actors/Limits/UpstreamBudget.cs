using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Limits;

/// <summary>
/// What this node knows of one upstream credential's budget, and its estimate of what is left now. The upstream
/// refills its requests and tokens per minute continuously; the estimate does the same from the limits it last said
/// (<c>x-ratelimit-limit-*</c>), takes each admitted turn off, and is brought down (never up) to what the upstream
/// says remains. After a 429 nothing is admitted until the wait it asked for is over. Until a limit is known, that
/// budget does not hold turns back. In a cluster each node paces itself to its <see cref="Share"/> of the limits.
/// A plain class: the owning actor gives it the time.
/// </summary>
internal sealed class UpstreamBudget(TimeSpan defaultHold)
{
    private readonly Bucket requests = new();
    private readonly Bucket tokens = new();
    private double share = 1.0;

    /// <summary>No turn is admitted before this (after a 429).</summary>
    public DateTimeOffset HoldUntil { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>What the upstream said last, and when.</summary>
    public RateLimitSnapshot? LastSaid { get; private set; }

    public DateTimeOffset LastSaidAt { get; private set; }

    /// <summary>This node's part of the limits: 1 alone, 1/n among n nodes.</summary>
    public double Share
    {
        get => share;
        set
        {
            if (value is <= 0 or > 1 || !double.IsFinite(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "a share is in (0, 1]");
            }

            share = value;
        }
    }

    /// <summary>The requests per minute the upstream said (the whole credential's), null until it did.</summary>
    public long? RequestLimit => requests.Limit;

    /// <summary>The tokens per minute the upstream said, null until it did.</summary>
    public long? TokenLimit => tokens.Limit;

    /// <summary>Requests this node estimates it may still send now (null: no limit known).</summary>
    public double? RequestsLeft(DateTimeOffset now) => requests.Limit is null ? null : requests.LevelAt(now, share);

    /// <summary>Tokens this node estimates it may still spend now (null: no limit known).</summary>
    public double? TokensLeft(DateTimeOffset now) => tokens.Limit is null ? null : tokens.LevelAt(now, share);

    /// <summary>Whether a turn of <paramref name="cost"/> tokens may go now; if so, it is taken off the estimate.</summary>
    public bool TryTake(long cost, DateTimeOffset now)
    {
        if (now < HoldUntil)
        {
            return false;
        }

        requests.Refill(now, share);
        tokens.Refill(now, share);
        if (!requests.Affords(1, share) || !tokens.Affords(cost, share))
        {
            return false;
        }

        requests.Take(1);
        tokens.Take(cost);
        return true;
    }

    /// <summary>A turn admitted but never sent: what it took goes back.</summary>
    public void GiveBack(long cost, DateTimeOffset now)
    {
        requests.Refill(now, share);
        tokens.Refill(now, share);
        requests.Return(1, share);
        tokens.Return(cost, share);
    }

    /// <summary>How long until a turn of <paramref name="cost"/> tokens may go (zero: now).</summary>
    public TimeSpan WhenPossible(long cost, DateTimeOffset now)
    {
        var wait = HoldUntil > now ? HoldUntil - now : TimeSpan.Zero;
        var r = requests.Until(1, now, share);
        var t = tokens.Until(cost, now, share);
        return new[] { wait, r, t }.Max();
    }

    /// <summary>What one answer's <c>x-ratelimit-*</c> headers said.</summary>
    public void Learn(RateLimitSnapshot said, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(said);
        LastSaid = said;
        LastSaidAt = now;
        requests.Learn(said.Requests, now, share);
        tokens.Learn(said.Tokens, now, share);
    }

    /// <summary>
    /// The upstream refused a request with 429 <c>rate_limit_exceeded</c>: nothing goes until the wait it asked for
    /// (<c>retry-after-ms</c>, <c>retry-after</c>, "try again in"; else <c>default-hold</c>), and its headers are
    /// learned. Returns the hold.
    /// </summary>
    public TimeSpan Refused(UpstreamError error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (RateLimitSnapshot.FromHeaders(error.Headers) is { } said)
        {
            Learn(said, now);
        }

        var hold = error.GetRetryAfter(now) ?? defaultHold;
        if (now + hold > HoldUntil)
        {
            HoldUntil = now + hold;
        }

        // The refused budget is empty now, whatever the estimate thought.
        if (error.Type == "tokens")
        {
            tokens.Empty(now);
        }
        else
        {
            requests.Empty(now);
        }

        return hold;
    }

    /// <summary>One budget refilled continuously at its limit per minute, up to the limit (this node's share of both).</summary>
    private sealed class Bucket
    {
        private double level;
        private DateTimeOffset at;

        public long? Limit { get; private set; }

        private double Capacity(double share) => Limit!.Value * share;

        public double LevelAt(DateTimeOffset now, double share)
        {
            var elapsed = Math.Max(0, (now - at).TotalMinutes);
            return Math.Min(Capacity(share), level + (elapsed * Capacity(share)));
        }

        public void Refill(DateTimeOffset now, double share)
        {
            if (Limit is null)
            {
                return;
            }

            level = LevelAt(now, share);
            at = now;
        }

        /// <summary>A cost larger than the whole bucket goes when the bucket is full (else it would never go).</summary>
        public bool Affords(double cost, double share) =>
            Limit is null || level >= Math.Min(cost, Capacity(share));

        public void Take(double cost)
        {
            if (Limit is not null)
            {
                level -= cost;
            }
        }

        public void Return(double cost, double share)
        {
            if (Limit is not null)
            {
                level = Math.Min(Capacity(share), level + cost);
            }
        }

        public TimeSpan Until(double cost, DateTimeOffset now, double share)
        {
            if (Limit is not { } limit || limit == 0)
            {
                return TimeSpan.Zero;
            }

            var missing = Math.Min(cost, Capacity(share)) - LevelAt(now, share);
            return missing <= 0 ? TimeSpan.Zero : TimeSpan.FromMinutes(missing / Capacity(share));
        }

        public void Learn(RateLimitBucket said, DateTimeOffset now, double share)
        {
            if (said.Limit is not { } limit || limit <= 0)
            {
                return;
            }

            if (Limit is null)
            {
                // First word of this budget: start from what remains, else full.
                Limit = limit;
                level = Capacity(share);
                at = now;
            }
            else
            {
                Refill(now, share);
                Limit = limit;
                level = Math.Min(level, Capacity(share));
            }

            if (said.Remaining is { } remaining)
            {
                level = Math.Min(level, remaining * share);
            }
        }

        public void Empty(DateTimeOffset now)
        {
            if (Limit is not null)
            {
                at = now;
                level = Math.Min(level, 0);
            }
        }
    }
}
