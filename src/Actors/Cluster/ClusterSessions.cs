using Akka.Actor;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// Cluster mode: <see cref="IResponsesSessions"/> over a shard region, so each conversation lives on one node of the
/// cluster and any node takes any turn. The actor system must be a cluster member (<c>akka.actor.provider = cluster</c>,
/// seed nodes, the split-brain resolver) with the same <c>fantasy.cluster</c> settings on every node.
/// </summary>
public static class ClusterSessions
{
    /// <summary>The relay's actor name on every node.</summary>
    public const string RelayName = "fantasy-turn-relay";

    /// <summary>
    /// Starts this node's part: the shard region hosting sessions (<paramref name="hostsSessions"/>; the node must
    /// then have <c>fantasy.cluster.role</c> if one is set), or a proxy to the nodes that do; and the relay that
    /// receives the events of turns started here.
    /// </summary>
    /// <param name="system">A cluster actor system whose config falls back to <see cref="FantasySettings.DefaultConfig"/>.</param>
    /// <param name="credentials">The upstream API key (used by the sessions this node hosts).</param>
    /// <param name="settings">Tunables; default: read from the system's config. Events are always kept as received (they cross nodes as such).</param>
    /// <param name="hostsSessions">False for a node that only takes turns (a gateway-only node): it starts a region proxy.</param>
    /// <param name="http">The HTTP fallback's client; default: one owned here.</param>
    /// <param name="name">
    /// The region's type name (the same on every node) and the suffix of this node's relay: a second set of sessions
    /// with its own upstream credentials or settings (a gateway tenant with its own upstream) is a region of its own.
    /// </param>
    public static ResponsesSessions Start(ActorSystem system, UpstreamCredentials credentials, FantasySettings? settings = null, bool hostsSessions = true, HttpClient? http = null, string name = SessionSharding.TypeName)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(credentials);
        settings ??= FantasySettings.FromConfig(system.Settings.Config);
        settings = settings with { Connection = settings.Connection with { KeepRawEvents = true } };
        var cluster = system.Settings.Config.WithFallback(FantasySettings.DefaultConfig).GetConfig("fantasy.cluster");
        var shards = cluster.GetInt("number-of-shards", 100);
        var role = cluster.GetString("role", string.Empty);
        var acceptTimeout = cluster.GetTimeSpan("accept-timeout", TimeSpan.FromSeconds(30));
        var resendInterval = cluster.GetTimeSpan("resend-interval", TimeSpan.FromSeconds(2));
        if (shards < 1)
        {
            throw new ArgumentException($"fantasy.cluster.number-of-shards must be at least 1, not {shards}", nameof(system));
        }

        IActorRef region;
        if (hostsSessions)
        {
            var env = ResponsesSessions.StartEnvironment(system, credentials, settings, name, http);
            region = SessionSharding.StartRegion(system, env, shards, role, name);
            BudgetShares.Start(system, env.Budget, role);
        }
        else
        {
            ResponsesSessions.StartSharedServices(system);
            region = SessionSharding.StartProxy(system, shards, role, name);
        }

        var relay = system.ActorOf(TurnRelay.Props(acceptTimeout, resendInterval), name == SessionSharding.TypeName ? RelayName : RelayName + "-" + name);
        return new ResponsesSessions(system, Task.FromResult(region), settings, Task.FromResult(relay));
    }
}
