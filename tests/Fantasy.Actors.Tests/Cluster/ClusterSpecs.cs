using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Fantasy.Actors.Api;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;
using Fantasy.Actors.Tests.Sessions;
using Xunit.Abstractions;

using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Cluster;

/// <summary>
/// Sessions sharded over several cluster nodes — separate actor systems in this process on 127.0.0.1, each on a
/// free port — against one simulator: turns taken by any node, events streamed back to it, node loss.
/// </summary>
public sealed class ClusterSpecs : IAsyncLifetime
{
    private readonly ITestOutputHelper output;
    private readonly List<Node> nodes = [];
    private ResponsesSimulator sim = null!;

    public ClusterSpecs(ITestOutputHelper output) => this.output = output;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync(new SimulatorOptions());

    public async Task DisposeAsync()
    {
        foreach (var node in nodes)
        {
            await node.System.Terminate().WaitAsync(Patience);
        }

        await sim.DisposeAsync();
    }

    private sealed record Node(ActorSystem System, ResponsesSessions Sessions)
    {
        public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;
    }

    /// <summary>Starts a node that joins the first one (or itself, if it is the first) and waits until it is up.</summary>
    private async Task<Node> StartNodeAsync(bool hostsSessions = true, string extra = "")
    {
        var system = await TestCluster.JoinAsync(TestCluster.NodeConfig(sim, hostsSessions, extra), nodes.Count == 0 ? null : nodes[0].Address);
        var node = new Node(system, ClusterSessions.Start(system, new UpstreamCredentials("sk-test"), hostsSessions: hostsSessions));
        nodes.Add(node);
        return node;
    }

    private async Task WaitForMembersAsync(int count)
    {
        foreach (var node in nodes.Where(n => !n.System.WhenTerminated.IsCompleted))
        {
            var cluster = Akka.Cluster.Cluster.Get(node.System);
            int Up() => cluster.State.Members.Count(m => m.Status == MemberStatus.Up);
            await UntilAsync(() => Up() == count, () => $"{node.Address} sees {Up()} members up, not {count}");
        }
    }

    /// <summary>Waits until the coordinator knows <paramref name="count"/> regions that host sessions, so that shards are spread over all of them from the start.</summary>
    private async Task WaitForRegionsAsync(int count)
    {
        var region = ClusterSharding.Get(nodes[0].System).ShardRegion(SessionSharding.TypeName);
        var known = 0;
        await UntilAsync(
            async () => (known = (await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(5)), Patience)).Regions.Count) == count,
            () => $"the coordinator knows {known} regions, not {count}",
            TimeSpan.FromMilliseconds(50));
    }

    /// <summary>Which node hosts each session now: the region's own state on every node.</summary>
    private async Task<Dictionary<string, int>> WhereAsync()
    {
        var where = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            if (nodes[i].System.WhenTerminated.IsCompleted || !Akka.Cluster.Cluster.Get(nodes[i].System).SelfRoles.Contains("sessions"))
            {
                continue;
            }

            var region = ClusterSharding.Get(nodes[i].System).ShardRegion(SessionSharding.TypeName);
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, Patience);
            foreach (var shard in state.Shards)
            {
                foreach (var entity in shard.EntityIds)
                {
                    where[entity] = i;
                }
            }
        }

        return where;
    }

    /// <summary>One conversation's next turn with its whole history, through <paramref name="node"/>; the history grows by the turn's output.</summary>
    private static async Task<TurnEnd> TurnAsync(Node node, SessionKey key, List<JsonElement> history, string text)
    {
        history.Add(User(text));
        var (_, end) = await Turns.CollectAsync(node.Sessions.RunTurnAsync(key, Request([.. history], store: false))).WaitAsync(Patience);
        if (end.Outcome == TurnOutcome.Completed)
        {
            history.AddRange(end.Result.Output.Select(o => o.Json));
        }

        return end;
    }

    [Fact]
    public async Task Sessions_spread_over_three_nodes_keep_one_socket_each_and_chain_whichever_node_takes_the_turn()
    {
        for (var i = 0; i < 3; i++)
        {
            await StartNodeAsync();
        }

        await WaitForMembersAsync(3);
        await WaitForRegionsAsync(3);
        const int sessions = 300;
        const int turns = 5;
        var histories = Enumerable.Range(0, sessions).Select(_ => new List<JsonElement>()).ToArray();
        for (var t = 0; t < turns; t++)
        {
            var turn = t;
            var ends = await Task.WhenAll(Enumerable.Range(0, sessions).Select(s =>
                TurnAsync(nodes[(s + turn) % 3], new SessionKey("tenant", $"s{s}"), histories[s], $"turn {turn}")));
            for (var s = 0; s < sessions; s++)
            {
                Assert.True(ends[s].Outcome == TurnOutcome.Completed, $"session {s} turn {turn}: {ends[s].Outcome} {ends[s].Reason}");
                Assert.Equal(turn > 0, ends[s].Chained);
                Assert.Equal(Transport.WebSocket, ends[s].Transport);

                // ok: N counts the context the server holds: nothing lost or sent twice across nodes.
                Assert.Equal($"ok: {histories[s].Count - 1}", ends[s].Result.Text);
            }
        }

        Assert.Equal(sessions, sim.Counters.ConnectionsOpened); // one upstream socket per session, whichever node took its turns
        var where = await WhereAsync();
        Assert.Equal(sessions, where.Count);
        var perNode = where.Values.GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine("sessions per node: " + string.Join(", ", perNode.OrderBy(p => p.Key).Select(p => $"node {p.Key}: {p.Value}")));
        Assert.Equal(3, perNode.Count);

        // Status and close answer from the owning node, whichever node is asked; an unknown session does not exist.
        var status = await nodes[1].Sessions.GetStatusAsync(new SessionKey("tenant", "s0"));
        Assert.Equal(turns, status!.Turns);
        Assert.Null(await nodes[2].Sessions.GetStatusAsync(new SessionKey("tenant", "never")));
        Assert.True(await nodes[0].Sessions.CloseAsync(new SessionKey("tenant", "s1")));

        // Each node paces the credential's upstream budget to its third of the limits.
        foreach (var node in nodes)
        {
            var budget = Fantasy.Actors.Limits.UpstreamBudgets.For(node.System, node.Sessions.Settings, new UpstreamCredentials("sk-test"))!;
            var share = 0.0;
            await UntilAsync(
                async () => Math.Abs((share = (await budget.Ask<Fantasy.Actors.Limits.UpstreamBudgetProtocol.BudgetStatus>(Fantasy.Actors.Limits.UpstreamBudgetProtocol.GetBudget.Instance, Patience)).Share) - (1.0 / 3)) < 1e-9,
                () => $"a node's share is {share}, not a third");
        }
    }

    [Fact]
    public async Task A_turn_taken_on_another_node_streams_back_in_order_and_a_stalled_reader_there_stops_the_socket_being_read()
    {
        const int window = 256 * 1024;
        var extra = $"fantasy.session.consumer-window-bytes = {window}";
        var a = await StartNodeAsync(extra: extra);
        await StartNodeAsync(extra: extra);
        await WaitForMembersAsync(2);
        await WaitForRegionsAsync(2);

        // A session that lives on B, driven from A.
        SessionKey key = default;
        for (var i = 0; key == default; i++)
        {
            var candidate = new SessionKey("tenant", $"far{i}");
            Assert.Equal(TurnOutcome.Completed, (await TurnAsync(a, candidate, [], "hello")).Outcome);
            if ((await WhereAsync())[candidate.SessionId] == 1)
            {
                key = candidate;
            }
        }

        // In order: the same turn's events from B arrive on A exactly as the upstream sent them, one terminal last.
        var (events, end) = await Turns.CollectAsync(a.Sessions.RunTurnAsync(key, Request([User("CALL lookup 3")], store: false))).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.IsType<ResponseCreated>(events[0]);
        Assert.IsType<ResponseCompleted>(events[^1]);
        var sequence = events.Select(e => e.SequenceNumber).ToList();
        Assert.Equal(sequence.Order().ToList(), sequence);
        Assert.Equal(3, end.Result.FunctionCalls.Count); // the result is folded on A from the relayed events
        Assert.Equal(events.Count, end.Result.EventCount);

        // Large events cross whole: a 2 MiB answer (its response.completed echoes all of it) arrives complete on A.
        var (largeEvents, large) = await Turns.CollectAsync(a.Sessions.RunTurnAsync(key, Request([User("LONG 2048")], store: false))).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, large.Outcome);
        Assert.IsType<ResponseCompleted>(largeEvents[^1]);
        Assert.True(large.Result.Text.Length > 2 * 1024 * 1024, $"{large.Result.Text.Length} characters");

        // About 12 MiB of answer; the caller on A takes the start and one event, then stops reading.
        var turn = a.Sessions.RunTurnAsync(key, Request([User("LONG 12288")], store: false)).GetAsyncEnumerator();
        try
        {
            Assert.True(await turn.MoveNextAsync());
            Assert.IsType<TurnStarted>(turn.Current);
            Assert.True(await turn.MoveNextAsync());

            SessionStatus status = null!;
            await UntilAsync(async () => (status = (await a.Sessions.GetStatusAsync(key))!).UnreadBytes >= window, () => $"the window never filled: {status.UnreadBytes} bytes unread");

            // B stops reading its socket at the window: what waits unread is the window plus one event, not 12 MiB.
            Assert.InRange(status.UnreadBytes, window, window + (17 * 1024));
            for (var look = 0; look < 20; look++)
            {
                var later = await a.Sessions.GetStatusAsync(key);
                Assert.Equal(status.UnreadEvents, later!.UnreadEvents);
                Assert.True(later.Busy);
            }
        }
        finally
        {
            await turn.DisposeAsync(); // leaving the enumeration cancels the turn, across nodes too
        }

        await UntilAsync(async () => !(await a.Sessions.GetStatusAsync(key))!.Busy, () => "the cancelled turn kept running");
    }

    [Fact]
    public async Task A_turn_sent_twice_to_a_session_runs_once()
    {
        var a = await StartNodeAsync();
        await WaitForMembersAsync(1);
        await WaitForRegionsAsync(1);
        var key = new SessionKey("tenant", "twice");
        Assert.Equal(TurnOutcome.Completed, (await TurnAsync(a, key, [], "hello")).Outcome);
        var framesBefore = sim.Counters.ResponseCreateFrames;

        // What a relay does when an acknowledgement is slow: the same turn (same id) reaches the session twice.
        var relay = await a.System.ActorSelection("/user/" + ClusterSessions.RelayName).ResolveOne(Patience);
        var region = ClusterSharding.Get(a.System).ShardRegion(SessionSharding.TypeName);
        var channel = System.Threading.Channels.Channel.CreateUnbounded<TurnEvent>();
        var submit = new Fantasy.Actors.Sessions.SessionProtocol.SubmitTurn(key, "turn-twice-1", Request([User("again")], store: false), TurnOptions.Default, new RelayTurnOutput(relay, "turn-twice-1"));
        relay.Tell(new TurnRelay.Register("turn-twice-1", key, channel.Writer, submit, region));
        region.Tell(submit);

        var (_, end) = await Turns.CollectAsync(channel.Reader.ReadAllAsync()).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal(framesBefore + 1, sim.Counters.ResponseCreateFrames); // one request upstream
        Assert.Equal(2, (await a.Sessions.GetStatusAsync(key))!.Turns);
    }

    [Fact]
    public async Task A_gateway_only_node_serves_turns_through_a_region_proxy()
    {
        await StartNodeAsync();
        await StartNodeAsync();
        var gateway = await StartNodeAsync(hostsSessions: false);
        await WaitForMembersAsync(3);
        var history = new List<JsonElement>();
        var key = new SessionKey("tenant", "via-proxy");
        for (var t = 0; t < 3; t++)
        {
            var end = await TurnAsync(gateway, key, history, $"turn {t}");
            Assert.Equal(TurnOutcome.Completed, end.Outcome);
            Assert.Equal(t > 0, end.Chained);
        }

        var where = await WhereAsync();
        Assert.True(where[key.SessionId] is 0 or 1); // hosted on a sessions node, never on the gateway
    }

    [Fact]
    public async Task A_node_that_leaves_lets_its_running_turns_finish_before_its_sessions_move()
    {
        for (var i = 0; i < 3; i++)
        {
            await StartNodeAsync();
        }

        await WaitForMembersAsync(3);
        await WaitForRegionsAsync(3);
        const int sessions = 30;
        var histories = Enumerable.Range(0, sessions).Select(_ => new List<JsonElement>()).ToArray();
        var keys = Enumerable.Range(0, sessions).Select(s => new SessionKey("tenant", $"h{s}")).ToArray();
        foreach (var end in await Task.WhenAll(Enumerable.Range(0, sessions).Select(s => TurnAsync(nodes[0], keys[s], histories[s], "first"))))
        {
            Assert.Equal(TurnOutcome.Completed, end.Outcome);
        }

        var where = await WhereAsync();
        var onB = Enumerable.Range(0, sessions).Where(s => where[keys[s].SessionId] == 1).ToArray();
        Assert.NotEmpty(onB);

        sim.Faults.Stall(TimeSpan.FromSeconds(2), turns: onB.Length);
        var running = onB.Select(s => TurnAsync(nodes[0], keys[s], histories[s], "during the hand-off")).ToArray();
        foreach (var s in onB)
        {
            await UntilAsync(async () => (await nodes[0].Sessions.GetStatusAsync(keys[s]))?.Busy == true, () => $"session {s} never became busy");
        }

        // B leaves the cluster the planned way; its shards are handed off only after their turns ended.
        var leaving = CoordinatedShutdown.Get(nodes[1].System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        foreach (var end in await Task.WhenAll(running).WaitAsync(Patience))
        {
            Assert.True(end.Outcome == TurnOutcome.Completed, $"{end.Outcome} {end.Reason}");
            Assert.True(end.Chained);
        }

        await leaving.WaitAsync(Patience);
        await WaitForMembersAsync(2);
        foreach (var s in onB)
        {
            var end = await TurnAsync(nodes[2], keys[s], histories[s], "after the hand-off");
            Assert.True(end.Outcome == TurnOutcome.Completed, $"session {s} after the hand-off: {end.Outcome} {end.Reason}");
            Assert.False(end.Chained); // a new socket on the new node: the whole history goes out once
        }

        var after = await WhereAsync();
        Assert.All(onB, s => Assert.NotEqual(1, after[keys[s].SessionId]));
    }

    [Fact]
    public async Task A_node_that_crashes_ends_its_running_turns_retryably_and_its_sessions_come_back_elsewhere()
    {
        for (var i = 0; i < 3; i++)
        {
            await StartNodeAsync(extra: "akka.coordinated-shutdown.run-by-actor-system-terminate = off");
        }

        await WaitForMembersAsync(3);
        await WaitForRegionsAsync(3);
        const int sessions = 60;
        var histories = Enumerable.Range(0, sessions).Select(_ => new List<JsonElement>()).ToArray();
        var keys = Enumerable.Range(0, sessions).Select(s => new SessionKey("tenant", $"c{s}")).ToArray();
        foreach (var end in await Task.WhenAll(Enumerable.Range(0, sessions).Select(s => TurnAsync(nodes[0], keys[s], histories[s], "first"))))
        {
            Assert.Equal(TurnOutcome.Completed, end.Outcome);
        }

        var where = await WhereAsync();
        var onB = Enumerable.Range(0, sessions).Where(s => where[keys[s].SessionId] == 1).ToArray();
        Assert.NotEmpty(onB);

        // Slow turns (the simulator stalls) are running on every node when node B goes away without leaving.
        sim.Faults.Stall(TimeSpan.FromSeconds(8), turns: sessions);
        var running = Enumerable.Range(0, sessions).Select(s => TurnAsync(nodes[0], keys[s], histories[s], "during the crash")).ToArray();
        foreach (var s in onB)
        {
            // The turn is running on B (its session says busy) before B goes.
            await UntilAsync(async () => (await nodes[0].Sessions.GetStatusAsync(keys[s]))?.Busy == true, () => $"session {s} never became busy");
        }

        var crashed = System.Diagnostics.Stopwatch.StartNew();
        await nodes[1].System.Terminate().WaitAsync(Patience);
        output.WriteLine($"node B terminated after {crashed.ElapsedMilliseconds} ms");
        _ = Task.WhenAll(running).ContinueWith(_ => output.WriteLine($"all running turns ended {crashed.ElapsedMilliseconds} ms after the crash"), TaskScheduler.Default);
        foreach (var s in onB)
        {
            _ = running[s].ContinueWith(t => output.WriteLine($"B's session {s} ended {t.Result.Outcome} at {crashed.ElapsedMilliseconds} ms"), TaskScheduler.Default);
        }

        // A new turn for one of B's sessions, sent at once: its first copy goes to the dead node and is lost; the
        // relay sends it again until the session's new home takes it.
        var onBFresh = TurnAsync(nodes[0], keys[onB[0]], [], "sent while B is dead");

        var ends = await Task.WhenAll(running).WaitAsync(Patience);
        foreach (var s in onB)
        {
            // Every turn ends exactly once (Turns.CollectAsync checks that); those on B end retryably.
            Assert.True(ends[s].Outcome == TurnOutcome.Failed && ends[s].Retryable, $"session {s}: {ends[s].Outcome} {ends[s].Reason}");
        }

        // Later turns succeed on the surviving nodes; the sessions from B start a fresh chain there.
        sim.Faults.Clear();
        var sentWhileDead = await onBFresh.WaitAsync(Patience);
        Assert.True(sentWhileDead.Outcome == TurnOutcome.Completed, $"{sentWhileDead.Outcome} {sentWhileDead.Reason}");
        await WaitForMembersAsync(2);
        foreach (var s in onB)
        {
            var end = await TurnAsync(nodes[2], keys[s], histories[s], "after the crash");
            Assert.True(end.Outcome == TurnOutcome.Completed, $"session {s} after the crash: {end.Outcome} {end.Reason}");
            Assert.False(end.Chained); // a new session on another node: the caller's whole history goes out in full
        }

        var after = await WhereAsync();
        Assert.All(onB, s => Assert.NotEqual(1, after[keys[s].SessionId]));
    }
}
