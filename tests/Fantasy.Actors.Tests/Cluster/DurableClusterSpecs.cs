using Akka.Actor;
using Akka.Cluster.Sharding;
using Fantasy.Actors.Api;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Testing;
using Fantasy.Actors.Tests.Persistence;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Cluster;

/// <summary>
/// Three nodes on one real PostgreSQL server: a node holding sessions crashes, and the sessions' next turns — chained
/// on the ids their callers were given — complete on the surviving nodes with their exact context, read from the
/// journal by the sessions' new incarnations.
/// </summary>
public sealed class DurableClusterSpecs : SimulatorAndPostgres
{
    private readonly List<(ActorSystem System, ResponsesSessions Sessions)> nodes = [];

    public override async Task DisposeAsync()
    {
        foreach (var (system, _) in nodes)
        {
            await system.Terminate().WaitAsync(Patience);
        }

        await base.DisposeAsync();
    }

    private async Task StartNodeAsync()
    {
        var config = TestCluster.NodeConfig(Sim, extra: $"""
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            fantasy.persistence.provider = postgresql
            fantasy.persistence.connection-string = "{Pg!.ConnectionString}"
            """);
        var system = await TestCluster.JoinAsync(config, nodes.Count == 0 ? null : Akka.Cluster.Cluster.Get(nodes[0].System).SelfAddress);
        nodes.Add((system, ClusterSessions.Start(system, new UpstreamCredentials("sk-test"), hostsSessions: true)));
    }

    [SkippableFact]
    public async Task The_sessions_of_a_crashed_node_continue_on_the_others_with_their_exact_context()
    {
        Skip.If(Pg is null, PostgresServer.Find().Missing);
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
            var sent = Sent.Last(Sim);
            Assert.Null(Sent.PreviousId(sent));
            Assert.Equal([$"first {s}", outputs[s][0], $"second {s}", outputs[s][1], $"third {s}"], Sent.Texts(sent));
        }
    }
}
