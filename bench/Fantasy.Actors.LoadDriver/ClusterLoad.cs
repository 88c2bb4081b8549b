using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// The session tool loop over a cluster of N nodes — N actor systems in this process on 127.0.0.1 — with each
/// turn of a conversation taken by the next node in turn, so most turns run on a node other than the one that owns
/// the session. Prints CPU per turn (this process: every node and the callers), turns/s and latency; with
/// <c>--failover</c>, then stops the last node without leaving and times how long its sessions take to answer again.
/// </summary>
internal static class ClusterLoad
{
    public static async Task<int> RunAsync(Uri url, string key, int nodeCount, int sessionCount, int turns, TimeSpan warmup, bool failover)
    {
        var nodes = new List<(ActorSystem System, ResponsesSessions Sessions)>();
        Address? seed = null;
        for (var n = 0; n < nodeCount; n++)
        {
            var config = ConfigurationFactory.ParseString($"""
                akka.loglevel = ERROR
                akka.actor.provider = cluster
                akka.remote.dot-netty.tcp.hostname = 127.0.0.1
                akka.remote.dot-netty.tcp.port = 0
                akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                akka.cluster.split-brain-resolver.stable-after = 5s
                akka.coordinated-shutdown.run-by-actor-system-terminate = off
                fantasy.upstream.websocket-url = "{url}"
                fantasy.session.idle-close-after = 60m
                """).WithFallback(FantasySettings.DefaultConfig).WithFallback(ClusterSharding.DefaultConfig()).WithFallback(Akka.DistributedData.DistributedData.DefaultConfig());
            var system = ActorSystem.Create("fantasy", config);
            var cluster = Akka.Cluster.Cluster.Get(system);
            seed ??= cluster.SelfAddress;
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            await cluster.JoinAsync(seed).ConfigureAwait(false);
            await up.Task.ConfigureAwait(false);
            nodes.Add((system, ClusterSessions.Start(system, new UpstreamCredentials(key))));
        }

        var region = ClusterSharding.Get(nodes[0].System).ShardRegion(SessionSharding.TypeName);
        while ((await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(5))).ConfigureAwait(false)).Regions.Count < nodeCount)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        var warming = Stopwatch.StartNew();
        var round = 0;
        do
        {
            var r = round++;
            await Task.WhenAll(Enumerable.Range(0, Math.Min(sessionCount, 64)).Select(s =>
                Task.Run(() => ConversationAsync(nodes, new SessionKey("warm", $"w{r}-{s}"), s, 5, null)))).ConfigureAwait(false);
        }
        while (warming.Elapsed < warmup);

        GC.Collect();
        var latencies = new double[sessionCount * turns];
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var failures = await Task.WhenAll(Enumerable.Range(0, sessionCount).Select(s =>
            Task.Run(() => ConversationAsync(nodes, new SessionKey("load", $"s{s}"), s, turns, latencies.AsMemory(s * turns, turns))))).ConfigureAwait(false);
        clock.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Array.Sort(latencies);
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
        var total = sessionCount * turns;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mode cluster, nodes {nodeCount}, sessions {sessionCount}, turns/session {turns}, total turns {total}, failed {failures.Sum()}, each turn taken by the next node"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"process cpu per turn {cpu.TotalMilliseconds / total:F3} ms ({cpu.TotalMilliseconds * 1000 / total:F0} us), {total / clock.Elapsed.TotalSeconds:F0} turns/s, turn latency ms p50 {P(0.5):F2}, p99 {P(0.99):F2}"));

        if (failover && nodeCount > 1)
        {
            // Which sessions live on the last node, then that node stops without leaving (a crash).
            var last = nodes[^1];
            var lastRegion = ClusterSharding.Get(last.System).ShardRegion(SessionSharding.TypeName);
            var state = await lastRegion.Ask<CurrentShardRegionState>(GetShardRegionState.Instance).ConfigureAwait(false);
            var orphans = state.Shards.SelectMany(s => s.EntityIds).Where(id => id.StartsWith("load~", StringComparison.Ordinal)).ToList();
            var crashed = Stopwatch.StartNew();
            await last.System.Terminate().ConfigureAwait(false);
            var back = await Task.WhenAll(orphans.Select(id => Task.Run(async () =>
            {
                var session = SessionSharding.KeyOf(id);
                while (true)
                {
                    var end = await nodes[0].Sessions.RunTurnToEndAsync(session, Request([User("after the crash")])).ConfigureAwait(false);
                    if (end.Outcome == TurnOutcome.Completed)
                    {
                        return crashed.Elapsed.TotalSeconds;
                    }
                }
            }))).ConfigureAwait(false);
            Array.Sort(back);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"failover: {orphans.Count} sessions on the stopped node answered again after p50 {back[back.Length / 2]:F1} s, max {back[^1]:F1} s (split-brain resolver stable-after 5 s)"));
            nodes.RemoveAt(nodes.Count - 1);
        }

        foreach (var (system, _) in nodes)
        {
            await system.Terminate().ConfigureAwait(false);
        }

        return failures.Sum() == 0 ? 0 : 1;
    }

    private static async Task<int> ConversationAsync(List<(ActorSystem System, ResponsesSessions Sessions)> nodes, SessionKey key, int index, int turns, Memory<double>? latencies)
    {
        var items = new List<JsonElement>();
        var failed = 0;
        for (var t = 0; t < turns; t++)
        {
            items.Add(User($"turn {t}: CALL lookup 1"));
            var started = Stopwatch.GetTimestamp();
            var end = await nodes[(index + t) % nodes.Count].Sessions.RunTurnToEndAsync(key, Request([.. items])).ConfigureAwait(false);
            if (latencies is { } l)
            {
                l.Span[t] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }

            if (end.Outcome != TurnOutcome.Completed)
            {
                failed++;
                Console.Error.WriteLine($"{key} turn {t}: {end.Outcome} {end.Reason}");
                continue;
            }

            items.AddRange(end.Result.Output.Select(o => o.Json));
            foreach (var call in end.Result.FunctionCalls)
            {
                items.Add(JsonDocument.Parse($$"""{"type":"function_call_output","call_id":"{{call.CallId}}","output":"42"}""").RootElement);
            }
        }

        return failed;
    }

    private static ResponseRequest Request(IReadOnlyList<JsonElement> items) => new() { Model = "load", Instructions = "be brief", Store = false, Input = items };

    private static JsonElement User(string text) => JsonDocument.Parse(JsonSerializer.Serialize(new { type = "message", role = "user", content = text })).RootElement;
}
