using System.Globalization;
using System.Threading.RateLimiting;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>
/// A tenant's limits (<c>Fantasy:Tenants:&lt;n&gt;:Limits:*</c>): requests and tokens per minute, turns running at once,
/// and how long a turn over them may wait before it is refused.
/// </summary>
/// <param name="RequestsPerMinute">Turns started per minute; null: no limit.</param>
/// <param name="TokensPerMinute">Tokens per minute, charged from the request's size before the turn and corrected from its usage after; null: no limit.</param>
/// <param name="ConcurrentTurns">Turns running at once; null: no limit.</param>
/// <param name="MaxWait">How long a turn over a limit waits before it is refused with 429.</param>
/// <param name="MaxQueued">Turns that may wait for a running turn's place (<paramref name="ConcurrentTurns"/>); more are refused at once.</param>
internal sealed record TenantLimits(int? RequestsPerMinute, long? TokensPerMinute, int? ConcurrentTurns, TimeSpan MaxWait, int MaxQueued)
{
    public static readonly TenantLimits None = new(null, null, null, TimeSpan.FromSeconds(30), 100);

    public bool Any => RequestsPerMinute is not null || TokensPerMinute is not null || ConcurrentTurns is not null;

    /// <summary>Reads a tenant's <c>Limits</c> section; a value out of range names its key.</summary>
    public static TenantLimits From(IConfigurationSection tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var s = tenant.GetSection("Limits");
        var rpm = s.GetValue<int?>("RequestsPerMinute");
        var tpm = s.GetValue<long?>("TokensPerMinute");
        var concurrent = s.GetValue<int?>("ConcurrentTurns");
        var maxWait = s.GetValue<TimeSpan?>("MaxWait") ?? None.MaxWait;
        var maxQueued = s.GetValue<int?>("MaxQueued") ?? None.MaxQueued;
        void Positive(string key, long? v)
        {
            if (v is <= 0)
            {
                throw new InvalidOperationException($"Fantasy:Tenants:{tenant.Key}:Limits:{key} must be a positive number, was {v}");
            }
        }

        Positive("RequestsPerMinute", rpm);
        Positive("TokensPerMinute", tpm);
        Positive("ConcurrentTurns", concurrent);
        if (maxWait < TimeSpan.Zero || maxQueued < 0)
        {
            throw new InvalidOperationException($"Fantasy:Tenants:{tenant.Key}:Limits:MaxWait and MaxQueued must not be negative");
        }

        return new TenantLimits(rpm, tpm, concurrent, maxWait, maxQueued);
    }
}

/// <summary>
/// One tenant's limits on this gateway node. Requests and tokens per minute are buckets refilled continuously (the
/// model the API's own limits follow: a limit of 60 allows 60 at once, then one a second); a turn reserves its request
/// and estimated tokens and waits until the reservation is covered, or is refused at once when that would take longer
/// than <see cref="TenantLimits.MaxWait"/> — so waiting turns start in arrival order without a queue of their own. Turns
/// running at once are the framework's <see cref="ConcurrencyLimiter"/> (oldest first, bounded queue). In a cluster each
/// gateway node keeps <see cref="Share"/> of every limit. Times come from a <see cref="TimeProvider"/> (specs move it by hand).
/// </summary>
internal sealed class TenantLimiter : IDisposable
{
    private readonly Lock gate = new();
    private readonly TimeProvider time;
    private readonly Bucket? requests;
    private readonly Bucket? tokens;
    private readonly ConcurrencyLimiter? concurrency;
    private long refused;

    public TenantLimiter(string tenant, TenantLimits limits, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        Tenant = tenant;
        Limits = limits;
        this.time = time ?? TimeProvider.System;
        var now = this.time.GetTimestamp();
        requests = limits.RequestsPerMinute is { } rpm ? new Bucket(rpm, now) : null;
        tokens = limits.TokensPerMinute is { } tpm ? new Bucket(tpm, now) : null;
        concurrency = limits.ConcurrentTurns is { } n
            ? new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = n, QueueLimit = limits.MaxQueued, QueueProcessingOrder = QueueProcessingOrder.OldestFirst })
            : null;
    }

    public string Tenant { get; }

    public TenantLimits Limits { get; }

    /// <summary>This node's part of the tenant's limits: 1 alone, 1/n among n gateway nodes.</summary>
    public double Share { get; private set; } = 1.0;

    /// <summary>Turns this limiter refused with 429.</summary>
    public long Refused => Interlocked.Read(ref refused);

    /// <summary>Cluster mode: this node keeps 1/<paramref name="nodes"/> of each limit (what is left is scaled with it).</summary>
    public void SetNodes(int nodes)
    {
        var share = 1.0 / Math.Max(1, nodes);
        lock (gate)
        {
            if (share == Share)
            {
                return;
            }

            var now = time.GetTimestamp();
            requests?.Rescale(Share, share, now, time);
            tokens?.Rescale(Share, share, now, time);
            Share = share;
        }
    }

    /// <summary>The estimated tokens of a request of <paramref name="bytes"/> bytes (4 bytes a token).</summary>
    public static long EstimateTokens(long bytes) => Math.Max(1, bytes / 4);

    /// <summary>
    /// Waits for the tenant's limits to let a turn of <paramref name="estimatedTokens"/> through: at once, after a wait
    /// within <see cref="TenantLimits.MaxWait"/>, or refused (<see cref="TenantPermit.Granted"/> false, with when to
    /// come back). A turn whose caller goes away while it waits gives its reservation back.
    /// </summary>
    public async Task<TenantPermit> AcquireAsync(long estimatedTokens, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        TimeSpan wait;
        lock (gate)
        {
            var now = time.GetTimestamp();
            var requestWait = requests?.WaitFor(1, Share, now, time) ?? TimeSpan.Zero;
            var tokenWait = tokens?.WaitFor(estimatedTokens, Share, now, time) ?? TimeSpan.Zero;
            wait = requestWait > tokenWait ? requestWait : tokenWait;
            if (wait > Limits.MaxWait)
            {
                Interlocked.Increment(ref refused);
                var limit = requestWait >= tokenWait ? "requests" : "tokens";
                // Back when a new turn would wait no longer than MaxWait.
                var back = wait - Limits.MaxWait;
                return TenantPermit.Refuse(this, limit, back > TimeSpan.FromMilliseconds(1) ? back : TimeSpan.FromMilliseconds(1), Headers(now));
            }

            requests?.Take(1, Share, now, time);
            tokens?.Take(estimatedTokens, Share, now, time);
        }

        try
        {
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }

            RateLimitLease? lease = null;
            if (concurrency is not null)
            {
                var left = Limits.MaxWait - time.GetElapsedTime(started);
                using var bounded = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero, time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bounded.Token);
                try
                {
                    lease = await concurrency.AcquireAsync(1, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    lease = null;
                }

                if (lease is not { IsAcquired: true })
                {
                    lease?.Dispose();
                    GiveBack(estimatedTokens);
                    Interlocked.Increment(ref refused);
                    return TenantPermit.Refuse(this, "concurrent", TimeSpan.FromSeconds(1), Headers(time.GetTimestamp()));
                }
            }

            return TenantPermit.Grant(this, lease, estimatedTokens, time.GetElapsedTime(started));
        }
        catch (OperationCanceledException)
        {
            GiveBack(estimatedTokens);
            throw;
        }
    }

    /// <summary>The turn used <paramref name="actual"/> tokens where <paramref name="estimated"/> were charged: the difference is given back or taken.</summary>
    public void Correct(long estimated, long actual)
    {
        if (tokens is null || actual == estimated)
        {
            return;
        }

        lock (gate)
        {
            var now = time.GetTimestamp();
            if (actual > estimated)
            {
                tokens.Take(actual - estimated, Share, now, time);
            }
            else
            {
                tokens.Give(estimated - actual, Share, now, time);
            }
        }
    }

    private void GiveBack(long estimatedTokens)
    {
        lock (gate)
        {
            var now = time.GetTimestamp();
            requests?.Give(1, Share, now, time);
            tokens?.Give(estimatedTokens, Share, now, time);
        }
    }

    /// <summary>The <c>x-ratelimit-*</c> headers as of now, OpenAI's names and formats: the tenant's limits, what remains of them, and when each is whole again.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers()
    {
        lock (gate)
        {
            return Headers(time.GetTimestamp());
        }
    }

    private List<KeyValuePair<string, string>> Headers(long now)
    {
        var list = new List<KeyValuePair<string, string>>(6);
        void Add(string kind, Bucket? bucket)
        {
            if (bucket is null)
            {
                return;
            }

            var (remaining, reset) = bucket.Report(Share, now, time);
            list.Add(new($"x-ratelimit-limit-{kind}", bucket.Limit.ToString(CultureInfo.InvariantCulture)));
            list.Add(new($"x-ratelimit-remaining-{kind}", remaining.ToString(CultureInfo.InvariantCulture)));
            list.Add(new($"x-ratelimit-reset-{kind}", RateLimitDuration.Format(reset)));
        }

        Add("requests", requests);
        Add("tokens", tokens);
        return list;
    }

    public void Dispose() => concurrency?.Dispose();

    /// <summary>
    /// A budget of <see cref="Limit"/> a minute (the tenant's, cluster-wide), this node holding its share of it, refilled
    /// continuously; its level may go below zero by reservations, which are covered as it refills.
    /// </summary>
    private sealed class Bucket(long limit, long now)
    {
        private double level = limit;
        private long at = now;

        public long Limit { get; } = limit;

        private double Capacity(double share) => Limit * share;

        private double PerSecond(double share) => Capacity(share) / 60.0;

        private void Refill(double share, long now, TimeProvider time)
        {
            var elapsed = time.GetElapsedTime(at, now).TotalSeconds;
            level = Math.Min(Capacity(share), level + (Math.Max(0, elapsed) * PerSecond(share)));
            at = now;
        }

        /// <summary>How long a reservation of <paramref name="cost"/> would wait (more than the whole bucket waits for a full one).</summary>
        public TimeSpan WaitFor(double cost, double share, long now, TimeProvider time)
        {
            Refill(share, now, time);
            var after = level - Math.Min(cost, Capacity(share));
            return after >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-after / PerSecond(share));
        }

        public void Take(double cost, double share, long now, TimeProvider time)
        {
            Refill(share, now, time);
            level -= cost;
        }

        public void Give(double cost, double share, long now, TimeProvider time)
        {
            Refill(share, now, time);
            level = Math.Min(Capacity(share), level + cost);
        }

        public void Rescale(double from, double to, long now, TimeProvider time)
        {
            Refill(from, now, time);
            level = level * to / from;
        }

        /// <summary>What remains (cluster-wide terms) and how long until the bucket is full again.</summary>
        public (long Remaining, TimeSpan Reset) Report(double share, long now, TimeProvider time)
        {
            Refill(share, now, time);
            var remaining = (long)Math.Floor(Math.Max(0, level / share));
            var reset = TimeSpan.FromSeconds(Math.Max(0, Capacity(share) - level) / PerSecond(share));
            return (Math.Min(Limit, remaining), reset);
        }
    }
}

/// <summary>A tenant's answer to one turn: let through (release it when the turn ends) or refused, with when to come back.</summary>
internal sealed class TenantPermit : IDisposable
{
    private readonly TenantLimiter limiter;
    private readonly RateLimitLease? lease;

    private TenantPermit(TenantLimiter limiter, bool granted, RateLimitLease? lease, long estimatedTokens, TimeSpan waited, string? limit, TimeSpan retryAfter, IReadOnlyList<KeyValuePair<string, string>>? headers)
    {
        this.limiter = limiter;
        this.lease = lease;
        Granted = granted;
        EstimatedTokens = estimatedTokens;
        Waited = waited;
        Limit = limit;
        RetryAfter = retryAfter;
        RefusalHeaders = headers ?? [];
    }

    public bool Granted { get; }

    public long EstimatedTokens { get; }

    /// <summary>How long the turn waited for the limits.</summary>
    public TimeSpan Waited { get; }

    /// <summary>What refused it: requests, tokens or concurrent.</summary>
    public string? Limit { get; }

    public TimeSpan RetryAfter { get; }

    /// <summary>The headers as of the refusal.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RefusalHeaders { get; }

    public static TenantPermit Grant(TenantLimiter limiter, RateLimitLease? lease, long estimatedTokens, TimeSpan waited) =>
        new(limiter, true, lease, estimatedTokens, waited, null, TimeSpan.Zero, null);

    public static TenantPermit Refuse(TenantLimiter limiter, string limit, TimeSpan retryAfter, IReadOnlyList<KeyValuePair<string, string>> headers) =>
        new(limiter, false, null, 0, TimeSpan.Zero, limit, retryAfter, headers);

    /// <summary>The turn's usage is known: the tokens charged before it are corrected.</summary>
    public void Used(long? totalTokens)
    {
        if (Granted && totalTokens is { } actual)
        {
            limiter.Correct(EstimatedTokens, actual);
        }
    }

    public void Dispose() => lease?.Dispose();
}
