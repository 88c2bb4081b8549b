using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Simulator;
using Fantasy.Actors.Testing;
using Fantasy.Actors.Tests.Persistence;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Cluster;

/// <summary>
/// Three nodes on one real PostgreSQL server: a node holding sessions crashes, and the sessions' next turns — chained
/// on the ids their callers were given — complete on the surviving nodes with their exact context, read from the
/// journal by the sessions' new incarnations.
/// </summary>
public sealed class DurableClusterSpecs : IAsyncLifetime
{
    private readonly List<(ActorSystem System, ResponsesSessions Sessions)> nodes = [];
    private ResponsesSimulator sim = null!;
    private PostgresServer? pg;

    public async Task InitializeAsync()
    {
        sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 64 });
        if (PostgresServer.Find().Missing is null)
        {
            pg = await PostgresServer.StartAsync();
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var (system, _) in nodes)
        {
            await system.Terminate().WaitAsync(Patience);
        }

        await sim.DisposeAsync();
        if (pg is not null)
        {
            await pg.DisposeAsync();
        }
    }

    private async Task StartNodeAsync()
    {
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = 127.0.0.1
            akka.remote.dot-netty.tcp.port = 0
            akka.cluster.roles = [sessions]
            akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            akka.cluster.split-brain-resolver.active-strategy = keep-majority
            akka.cluster.split-brain-resolver.stable-after = 2s
            akka.cluster.failure-detector.heartbeat-interval = 300ms
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 1500ms
            akka.cluster.sharding.state-store-mode = ddata
            akka.coordinated-shutdown.exit-clr = off
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            fantasy.upstream.websocket-url = "{sim.WebSocketUrl}"
            fantasy.upstream.base-url = "{sim.BaseUrl}"
            fantasy.cluster.role = sessions
            fantasy.cluster.number-of-shards = 30
            fantasy.cluster.accept-timeout = 20s
            fantasy.persistence.provider = postgresql
            fantasy.persistence.connection-string = "{pg!.ConnectionString}"
            """).WithFallback(FantasySettings.DefaultConfig).WithFallback(ClusterSharding.DefaultConfig()).WithFallback(Akka.DistributedData.DistributedData.DefaultConfig());
        config = FantasySettings.FromConfig(config).Persistence.ToAkkaConfig().WithFallback(config);
        var system = ActorSystem.Create("fantasy", config);
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        await cluster.JoinAsync(nodes.Count == 0 ? cluster.SelfAddress : Akka.Cluster.Cluster.Get(nodes[0].System).SelfAddress).WaitAsync(Patience);
        await up.Task.WaitAsync(Patience);
        nodes.Add((system, ClusterSessions.Start(system, new UpstreamCredentials("sk-test"), hostsSessions: true)));
    }

    [SkippableFact]
    public async Task The_sessions_of_a_crashed_node_continue_on_the_others_with_their_exact_context()
    {
        Skip.If(pg is null, PostgresServer.Find().Missing);
        for (var i = 0; i < 3; i++)
        {
            await StartNodeAsync();
        }

        var region = ClusterSharding.Get(nodes[0].System).ShardRegion(SessionSharding.TypeName);
        await UntilAsync(async () => (await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(5)), Patience)).Regions.Count == 3,
            () => "three regions", TimeSpan.FromMilliseconds(50));

        const int Sessions = 24;
        var keys = Enumerable.Range(0, Sessions).Select(s => new SessionKey("acme", $"d{s}")).ToArray();
        var last = new string?[Sessions];
        var outputs = Enumerable.Range(0, Sessions).Select(_ => new List<string>()).ToArray();
        foreach (var round in new[] { "first", "second" })
        {
            await Task.WhenAll(Enumerable.Range(0, Sessions).Select(async s =>
            {
                var end = await nodes[0].Sessions.RunTurnToEndAsync(keys[s], Request([User($"{round} {s}")], store: false), new TurnOptions { PreviousResponseId = last[s] }).WaitAsync(Patience);
                Assert.Equal(TurnOutcome.Completed, end.Outcome);
                last[s] = end.ResponseId;
                outputs[s].Add(end.Result.Text);
            }));
        }

        // Which sessions live on node B.
        var state = await ClusterSharding.Get(nodes[1].System).ShardRegion(SessionSharding.TypeName).Ask<CurrentShardRegionState>(GetShardRegionState.Instance, Patience);
        var onB = state.Shards.SelectMany(sh => sh.EntityIds).ToHashSet(StringComparer.Ordinal);
        var moved = Enumerable.Range(0, Sessions).Where(s => onB.Contains(keys[s].SessionId)).ToArray();
        Assert.NotEmpty(moved);

        await nodes[1].System.Terminate().WaitAsync(Patience); // gone without leaving
        foreach (var s in moved)
        {
            var end = await nodes[2].Sessions.RunTurnToEndAsync(keys[s], Request([User($"third {s}")], store: false), new TurnOptions { PreviousResponseId = last[s] }).WaitAsync(Patience);
            Assert.True(end.Outcome == TurnOutcome.Completed, $"session {s}: {end.Outcome} {end.Reason}");
            var sent = Sent.Last(sim);
            Assert.Null(Sent.PreviousId(sent));
            Assert.Equal([$"first {s}", outputs[s][0], $"second {s}", outputs[s][1], $"third {s}"], Sent.Texts(sent));
        }
    }
}
