using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Tests.Cluster;

/// <summary>The cluster specs' nodes: actor systems on 127.0.0.1 that find each other fast and agree on the sessions' shards.</summary>
internal static class TestCluster
{
    /// <summary>A node's config over <paramref name="sim"/>; <paramref name="extra"/> HOCON wins.</summary>
    public static Config NodeConfig(ResponsesSimulator sim, bool hostsSessions = true, string extra = "") =>
        FantasySettings.WithPlugins(ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = 127.0.0.1
            akka.remote.dot-netty.tcp.port = 0
            akka.cluster.roles = [{(hostsSessions ? "sessions" : "gateway")}]
            akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            akka.cluster.split-brain-resolver.active-strategy = keep-majority
            akka.cluster.split-brain-resolver.stable-after = 2s
            akka.cluster.failure-detector.heartbeat-interval = 300ms
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 1500ms
            akka.cluster.sharding.state-store-mode = ddata
            akka.coordinated-shutdown.exit-clr = off
            fantasy.upstream.websocket-url = "{sim.WebSocketUrl}"
            fantasy.upstream.base-url = "{sim.BaseUrl}"
            fantasy.cluster.role = sessions
            fantasy.cluster.number-of-shards = 30
            fantasy.cluster.accept-timeout = 20s
            {extra}
            """).WithFallback(FantasySettings.DefaultConfig).WithFallback(ClusterSharding.DefaultConfig()).WithFallback(Akka.DistributedData.DistributedData.DefaultConfig()));

    /// <summary>Starts a node with <paramref name="config"/> that joins <paramref name="seed"/> (itself when null) and waits until it is up.</summary>
    public static async Task<ActorSystem> JoinAsync(Config config, Address? seed)
    {
        var system = ActorSystem.Create("fantasy", config);
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        await cluster.JoinAsync(seed ?? cluster.SelfAddress).WaitAsync(Patience);
        await up.Task.WaitAsync(Patience);
        return system;
    }
}
