using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Sessions;

namespace Fantasy.Actors.Cluster;

/// <summary>Akka.Hosting wiring of cluster mode.</summary>
internal static class ClusterHosting
{
    /// <summary>
    /// Remoting and clustering (seed nodes, the split-brain resolver), the sessions' shard region on <c>sessions</c>
    /// nodes or a region proxy on gateway-only nodes (registered as <see cref="FantasySessionManager"/>), and the
    /// node's turn relay (<see cref="FantasyTurnRelay"/>).
    /// </summary>
    public static AkkaConfigurationBuilder WithFantasyCluster(this AkkaConfigurationBuilder builder, FantasyOptions options, FantasyClusterOptions cluster, UpstreamCredentials credentials)
    {
        var config = options.ToConfig();
        var shards = config.GetInt("fantasy.cluster.number-of-shards", 100);
        var acceptTimeout = config.GetTimeSpan("fantasy.cluster.accept-timeout", TimeSpan.FromSeconds(30));
        var resendInterval = config.GetTimeSpan("fantasy.cluster.resend-interval", TimeSpan.FromSeconds(2));
        var extractor = new SessionSharding.Extractor(shards);
        builder
            .WithRemoting(cluster.Hostname, cluster.Port)
            .WithClustering(new ClusterOptions
            {
                SeedNodes = [.. cluster.SeedNodes],
                Roles = [.. cluster.Roles],
                SplitBrainResolver = SplitBrainResolverOption.Default,
            });
        if (cluster.HostsSessions)
        {
            builder.WithShardRegion<FantasySessionManager>(
                SessionSharding.TypeName,
                (system, registry, resolver) =>
                {
                    var settings = FantasySettings.FromConfig(system.Settings.Config);
                    var http = resolver.GetService<IHttpClientFactory>()?.CreateClient(FantasyHostingExtensions.HttpClientName);
                    var env = ResponsesSessions.StartEnvironment(system, credentials, settings, "fantasy-sessions", http) with { Passivation = SessionPassivation.Sharded };
                    BudgetShares.Start(system, env.Budget, FantasyClusterOptions.SessionsRole);
                    return entityId => SessionActor.Props(SessionSharding.KeyOf(entityId), env);
                },
                extractor,
                new ShardOptions
                {
                    Role = FantasyClusterOptions.SessionsRole,
                    RememberEntities = false,
                    StateStoreMode = StateStoreMode.DData,
                    HandOffStopMessage = SessionProtocol.StopSession.Instance,

                    // A session passivates itself after session-idle-timeout (one deadline timer it already has).
                    ShouldPassivateIdleEntities = false,
                });
        }
        else
        {
            builder.WithShardRegionProxy<FantasySessionManager>(SessionSharding.TypeName, FantasyClusterOptions.SessionsRole, extractor);
        }

        return builder.WithActors((system, registry) =>
        {
            ResponsesSessions.StartSharedServices(system);
            registry.Register<FantasyTurnRelay>(system.ActorOf(TurnRelay.Props(acceptTimeout, resendInterval), ClusterSessions.RelayName));
        });
    }
}
