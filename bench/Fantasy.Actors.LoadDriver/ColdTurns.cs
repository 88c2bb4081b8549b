using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// The first turns of a fresh process: C new conversations start at the same moment and run T tool-loop turns each
/// (the whole history every turn), against a modeled server (the simulator with a first-event delay). Prints the
/// first turns' latencies (p50, p99, slowest) beside the steady p50 (turns after the tenth), and their ratio.
/// Library: the driver's own fresh actor system. Gateway: a freshly started gateway; the driver first runs its own
/// HTTP client code against the simulator's HTTP endpoint, so that its own JIT is not counted as the gateway's.
/// </summary>
internal static class ColdTurns
{
    public static async Task<int> LibraryAsync(Uri url, string key, int conversations, int turns)
    {
        var clock = Stopwatch.StartNew();
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            fantasy.upstream.websocket-url = "{url}"
            fantasy.session.idle-close-after = 60m
            """).WithFallback(FantasySettings.DefaultConfig);
        using var system = ActorSystem.Create("cold-turns", config);
        var api = new ResponsesSessions(system, new UpstreamCredentials(key));
        var startup = clock.Elapsed;
        var latencies = new double[conversations * turns];
        var failed = (await Task.WhenAll(Enumerable.Range(0, conversations).Select(c =>
            Task.Run(() => SessionsLoad.ConversationAsync(api, new SessionKey("cold", $"c{c}"), turns, full: false, callerChains: false, latencies.AsMemory(c * turns, turns)))))).Sum();
        return Report($"library (actor system started in {startup.TotalMilliseconds:F0} ms)", conversations, turns, latencies, failed);
    }

    public static async Task<int> GatewayAsync(Uri gateway, Uri simulatorHttp, string key, int conversations, int turns)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = TimeSpan.FromMinutes(2) };

        // The driver's own client code, warmed against the simulator (the same requests and SSE reading).
        var direct = new Uri(simulatorHttp, "responses");
        var warming = Stopwatch.StartNew();
        var round = 0;
        while (warming.Elapsed < TimeSpan.FromSeconds(5))
        {
            var r = round++;
            await Task.WhenAll(Enumerable.Range(0, conversations).Select(c => GatewayLoad.ConversationAsync(http, direct, key, $"driver-{r}-{c}", 3, null)));
        }

        var endpoint = new Uri(gateway, "responses");
        if (Environment.GetEnvironmentVariable("COLD_PROBE") is not null)
        {
            // Diagnostic: what a first request costs apart from a turn.
            var probe = Stopwatch.StartNew();
            using (await http.GetAsync(new Uri(gateway, "/healthz")).ConfigureAwait(false))
            {
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first GET /healthz {probe.Elapsed.TotalMilliseconds:F1} ms"));
            probe.Restart();
            await GatewayLoad.ConversationAsync(http, endpoint, key, "probe", 1, null).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"a first turn alone {probe.Elapsed.TotalMilliseconds:F1} ms"));
            probe.Restart();
            await GatewayLoad.ConversationAsync(http, endpoint, key, "probe2", 1, null).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"a second session's first turn {probe.Elapsed.TotalMilliseconds:F1} ms"));
        }

        var latencies = new double[conversations * turns];
        var failed = (await Task.WhenAll(Enumerable.Range(0, conversations).Select(c =>
            Task.Run(() => GatewayLoad.ConversationAsync(http, endpoint, key, $"cold-{c}", turns, latencies.AsMemory(c * turns, turns)))))).Sum();
        return Report("gateway", conversations, turns, latencies, failed);
    }

    private static int Report(string what, int conversations, int turns, double[] latencies, int failed)
    {
        var first = Enumerable.Range(0, conversations).Select(c => latencies[c * turns]).Order().ToArray();
        var steady = Enumerable.Range(0, conversations).SelectMany(c => latencies.Skip(c * turns + Math.Min(10, turns - 1)).Take(turns - Math.Min(10, turns - 1))).Order().ToArray();
        var all = latencies.Order().ToArray();
        static double P(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cold turns, {what}: {conversations} new conversations x {turns} turns, failed {failed}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"first turns ms: p50 {P(first, 0.5):F1}, p99 {P(first, 0.99):F1}, slowest {first[^1]:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"steady turns (after the 10th) ms: p50 {P(steady, 0.5):F1}, p99 {P(steady, 0.99):F1}; all turns p50 {P(all, 0.5):F1}, p99 {P(all, 0.99):F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"first-turn p99 / steady p50 = {P(first, 0.99) / P(steady, 0.5):F2}"));
        return failed == 0 ? 0 : 1;
    }
}
