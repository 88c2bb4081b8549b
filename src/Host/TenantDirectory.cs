using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Cluster;

namespace Fantasy.Actors.Host;

/// <summary>
/// Each tenant's view of the service: its sessions API (the shared one, or its own manager when it brings its
/// own upstream key, base URL or limits), the sessions it has used, and the response ids it produced — so a
/// tenant can only list, reach and chain from what is its own.
/// </summary>
internal sealed class TenantDirectory : IDisposable
{
    private readonly ConcurrentDictionary<string, TenantState> tenants = new(StringComparer.Ordinal);

    /// <summary>How long a new session waits for the cluster's admission before the gateway falls back to the replicated count.</summary>
    public static readonly TimeSpan AdmissionTimeout = TimeSpan.FromSeconds(5);

    /// <param name="cluster">
    /// Cluster mode's options, when it is on: tenant indexes are replicated, a tenant's own sessions are a region of
    /// their own, and a tenant's session limit is kept by one admission entity cluster-wide (<see cref="SessionAdmission"/>).
    /// </param>
    /// <param name="upstream">The gateway's shared upstream (base URL and key) that requests passed through go to, for tenants without their own.</param>
    public TenantDirectory(GatewayOptions options, IResponsesSessions shared, ActorSystem system, Cluster.FantasyClusterOptions? cluster = null, ILogger? log = null, TimeProvider? time = null,
        UpstreamTarget? upstream = null)
    {
        var clustered = cluster is { Enabled: true };
        ArgumentNullException.ThrowIfNull(options);
        var admission = clustered ? SessionAdmission.Start(system, ClusterTenantIndex.SessionsKeyPrefix) : null;
        foreach (var tenant in options.Tenants)
        {
            var sessions = tenant.UpstreamApiKey is null && tenant.UpstreamBaseUrl is null && tenant.MaxQueuedTurns is null
                ? shared
                : Own(system, tenant, clustered ? cluster : null);
            tenants[tenant.Name] = new TenantState(tenant, sessions, options.ResponseIdsPerTenant)
            {
                Limiter = tenant.Limits.Any ? new TenantLimiter(tenant.Name, tenant.Limits, time) : null,
                GatewayNodes = clustered ? () => GatewayNodes(system) : null,
                Cluster = clustered ? new ClusterTenantIndex(system, tenant.Name) : null,
                ClusterSystem = clustered ? system : null,
                Records = (shared as ResponsesSessions)?.Records,
                Admission = admission,
                Log = log,
                Archive = new ResponseArchive(options.KeptResponsesPerTenant),
                Upstream = upstream?.For(tenant),
            };
        }

        GatewayMetrics.Observe(this);
    }

    public TenantState this[TenantOptions tenant] => tenants[tenant.Name];

    /// <summary>The tenant named <paramref name="name"/>, or null.</summary>
    public TenantState? Find(string name) => tenants.TryGetValue(name, out var tenant) ? tenant : null;

    /// <summary>Every tenant's state.</summary>
    public IEnumerable<TenantState> Tenants => tenants.Values;

    /// <summary>Stops reporting the tenants' gauges (the host disposes the directory with its services).</summary>
    public void Dispose()
    {
        GatewayMetrics.Forget(this);
        foreach (var tenant in tenants.Values)
        {
            tenant.Limiter?.Dispose();
        }
    }

    /// <summary>Cluster mode: the gateway nodes up now (each keeps its share of every tenant's limits).</summary>
    private static int GatewayNodes(ActorSystem system) =>
        Akka.Cluster.Cluster.Get(system).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(Cluster.FantasyClusterOptions.GatewayRole));

    private static ResponsesSessions Own(ActorSystem system, TenantOptions tenant, Cluster.FantasyClusterOptions? cluster)
    {
        var overrides = new List<string>();
        if (tenant.UpstreamBaseUrl is { } baseUrl)
        {
            overrides.Add($"fantasy.upstream.base-url = \"{baseUrl}\"");
            overrides.Add($"fantasy.upstream.websocket-url = \"{UpstreamSettings.DeriveWebSocketUrl(baseUrl)}\"");
        }

        if (tenant.MaxQueuedTurns is { } queued)
        {
            overrides.Add($"fantasy.session.max-queued-turns = {queued}");
        }

        var config = ConfigurationFactory.ParseString(string.Join('\n', overrides)).WithFallback(system.Settings.Config);
        var own = FantasySettings.FromConfig(config);
        var key = tenant.UpstreamApiKey ?? throw new InvalidOperationException(
            $"Fantasy:Tenants:{tenant.Name}: a tenant with its own upstream base URL or limits needs Fantasy:Tenants:{tenant.Name}:UpstreamApiKey");
        return cluster is not null
            ? Cluster.ClusterSessions.Start(system, new UpstreamCredentials(key), own, cluster.HostsSessions, name: "fantasy-sessions-" + tenant.Name)
            : new ResponsesSessions(system, new UpstreamCredentials(key), own, "fantasy-sessions-" + tenant.Name);
    }
}

/// <summary>One tenant's sessions API and what it owns.</summary>
internal sealed partial class TenantState(TenantOptions options, IResponsesSessions sessions, int maxResponseIds)
{
    private readonly ConcurrentDictionary<string, byte> sessionIds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> responseIds = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> responseOrder = new();

    public TenantOptions Options { get; } = options;

    public IResponsesSessions Sessions { get; } = sessions;

    private readonly object sessionGate = new();
    private int sessionCount;

    /// <summary>Cluster mode: the tenant's sessions and response ids as every gateway node recorded them.</summary>
    public ClusterTenantIndex? Cluster { get; init; }

    /// <summary>Cluster mode: the region of the admission entities that keep each tenant's session limit cluster-wide.</summary>
    public IActorRef? Admission { get; init; }

    public ILogger? Log { get; init; }

    /// <summary>The tenant's limits on this node (<c>Fantasy:Tenants:&lt;n&gt;:Limits</c>); null when it has none.</summary>
    public TenantLimiter? Limiter { get; init; }

    /// <summary>Cluster mode: how many gateway nodes share the tenant's limits now.</summary>
    public Func<int>? GatewayNodes { get; init; }

    /// <summary>
    /// Waits for the tenant's limits to let a turn of <paramref name="bodyBytes"/> through (granted at once without
    /// limits); in cluster mode this node's share follows the gateway nodes up.
    /// </summary>
    public async Task<TenantPermit?> LimitAsync(long bodyBytes, CancellationToken cancellationToken)
    {
        if (Limiter is not { } limiter)
        {
            return null;
        }

        if (GatewayNodes is { } nodes)
        {
            limiter.SetNodes(nodes());
        }

        return await limiter.AcquireAsync(TenantLimiter.EstimateTokens(bodyBytes), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The clock of the pruning interval (specs move it by hand).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public IReadOnlyCollection<string> SessionIds => Cluster is { } c ? [.. sessionIds.Keys.Union(c.Sessions)] : sessionIds.Keys.ToList();

    /// <summary>The number of sessions, without copying their ids (this node's; in cluster mode at least the replicated count).</summary>
    public int SessionCount => Cluster is { } c ? Math.Max(Volatile.Read(ref sessionCount), c.Sessions.Count) : Volatile.Read(ref sessionCount);

    public bool HasSession(string conversation) => sessionIds.ContainsKey(conversation) || Cluster?.Sessions.Contains(conversation) == true;

    /// <summary>Adds the session unless the tenant is at <paramref name="max"/> sessions; checking and adding are one step.</summary>
    public bool TryAddSession(string conversation, int? max)
    {
        if (HasSession(conversation))
        {
            return true;
        }

        lock (sessionGate)
        {
            if (sessionIds.ContainsKey(conversation))
            {
                return true;
            }

            if (max is { } limit && SessionCount >= limit)
            {
                return false;
            }

            sessionIds[conversation] = 0;
            sessionCount++;
            Cluster?.AddSession(conversation);
            return true;
        }
    }

    /// <summary>
    /// Adds the session unless the tenant is at <paramref name="max"/> sessions. In cluster mode with a limit, the
    /// tenant's admission entity decides (one step cluster-wide, so two nodes cannot both admit the last place); if it
    /// does not answer within <see cref="TenantDirectory.AdmissionTimeout"/>, the replicated count decides, as a warning says.
    /// </summary>
    public async Task<bool> TryAddSessionAsync(string conversation, int? max, CancellationToken cancellationToken)
    {
        if (await TryAdmitAsync(conversation, max, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        // At the limit. Sessions that stopped on their own (session.session-idle-timeout) still count until something
        // notices they are gone: look once (at most every PruneInterval), free their places, and ask again.
        return await PruneAsync(cancellationToken).ConfigureAwait(false) > 0
               && await TryAdmitAsync(conversation, max, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The least time between two looks for stopped sessions when a tenant is at its limit.</summary>
    public static readonly TimeSpan PruneInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, long> missing = new(StringComparer.Ordinal);
    private long lastPrune = long.MinValue;

    /// <summary>
    /// Forgets the tenant's sessions that no longer exist; how many. A session is forgotten when two looks, at least
    /// <see cref="PruneInterval"/> apart, both find it missing: a session admitted a moment ago whose turn has not yet
    /// created it (here or on another node) is missing at the first look only.
    /// </summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        var last = Interlocked.Read(ref lastPrune);
        if (last != long.MinValue && now - last < (long)PruneInterval.TotalMilliseconds)
        {
            return 0;
        }

        if (Interlocked.CompareExchange(ref lastPrune, now, last) != last)
        {
            return 0; // another request is looking
        }

        var gone = 0;
        await Parallel.ForEachAsync(SessionIds, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (id, ct) =>
        {
            if (await Sessions.GetStatusAsync(new SessionKey(Options.Name, id), ct).ConfigureAwait(false) is not null)
            {
                Present(id);
            }
            else if (await MissingAsync(id).ConfigureAwait(false))
            {
                Interlocked.Increment(ref gone);
            }
        }).ConfigureAwait(false);
        return gone;
    }

    /// <summary>The session's status was found: it is not missing.</summary>
    public void Present(string conversation) => missing.TryRemove(conversation, out _);

    /// <summary>
    /// The session's status was not found. The first time it is noted; once it has been missing for
    /// <see cref="PruneInterval"/> it is forgotten (true) — a session admitted a moment ago is missing only until its
    /// first turn creates it.
    /// </summary>
    public async Task<bool> MissingAsync(string conversation)
    {
        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - missing.GetOrAdd(conversation, now) < (long)PruneInterval.TotalMilliseconds)
        {
            return false;
        }

        await RemoveSessionAsync(conversation).ConfigureAwait(false);
        return true;
    }

    private async Task<bool> TryAdmitAsync(string conversation, int? max, CancellationToken cancellationToken)
    {
        if (HasSession(conversation) || max is null || Admission is null)
        {
            return TryAddSession(conversation, max);
        }

        try
        {
            if (!await SessionAdmission.AdmitAsync(Admission, Options.Name, conversation, max.Value, TenantDirectory.AdmissionTimeout, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }
        catch (AskTimeoutException)
        {
            if (Log is { } log)
            {
                Logs.AdmissionUnanswered(log, Options.Name, TenantDirectory.AdmissionTimeout, conversation);
            }

            return TryAddSession(conversation, max);
        }

        TryAddSession(conversation, max: null);
        return true;
    }

    /// <summary>
    /// Forgets the session here and in the replicated index; in cluster mode, for a tenant with a limit, its admission
    /// place is free when this completes (<paramref name="admitted"/> false: an ephemeral session, never admitted).
    /// </summary>
    public async Task RemoveSessionAsync(string conversation, bool admitted = true)
    {
        lock (sessionGate)
        {
            if (sessionIds.TryRemove(conversation, out _))
            {
                sessionCount--;
            }

            Cluster?.RemoveSession(conversation);
        }

        missing.TryRemove(conversation, out _);
        Held.Forget(conversation);

        if (admitted && Options.MaxSessions is not null && Admission is { } admission)
        {
            try
            {
                await SessionAdmission.ReleaseAsync(admission, Options.Name, conversation, TenantDirectory.AdmissionTimeout).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                // The entity is unreachable now; when it starts again it reads the replicated set, which no longer has it.
            }
        }
    }

    /// <summary>
    /// Takes the session a turn runs in: a named one is admitted against the tenant's limit (false at the limit); a
    /// one-off session is not counted against it.
    /// </summary>
    public Task<bool> EnterAsync(TurnRequest turn, CancellationToken cancellationToken) =>
        TryAddSessionAsync(turn.Conversation, turn.Ephemeral ? null : Options.MaxSessions, cancellationToken);

    /// <summary>Each named session's last request and output, that its next body is read against.</summary>
    public HeldRequests Held { get; } = new(TimeProvider.System);

    /// <summary>After a turn: its response id is this tenant's from now on, and a one-off session is closed and forgotten.</summary>
    public async Task LeaveAsync(TurnRequest turn, TurnEnd? end)
    {
        Remember(end?.ResponseId);
        if (!turn.Ephemeral && end is { Outcome: TurnOutcome.Completed })
        {
            Held.Keep(turn.Conversation, turn.Request, [.. end.Result.Output.Select(o => o.Json)], end.ResponseId);
        }
        else if (!turn.Ephemeral)
        {
            Held.Forget(turn.Conversation);
        }

        if (turn.Ephemeral)
        {
            await Sessions.CloseAsync(new SessionKey(Options.Name, turn.Conversation), CancellationToken.None).ConfigureAwait(false);
            await RemoveSessionAsync(turn.Conversation, admitted: false).ConfigureAwait(false);
        }
    }

    public void Remember(string? responseId)
    {
        if (responseId is null || !responseIds.TryAdd(responseId, 0))
        {
            return;
        }

        responseOrder.Enqueue(responseId);
        Cluster?.AddResponse(responseId);
        while (responseOrder.Count > maxResponseIds && responseOrder.TryDequeue(out var oldest))
        {
            responseIds.TryRemove(oldest, out _);
            Cluster?.RemoveResponse(oldest);
        }
    }
}
