using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// S sessions × T tool-loop turns through the public API (<see cref="IResponsesSessions"/>), each caller
/// sending its FULL conversation every turn as a stateless client does. With <c>full</c>, every turn is
/// sent with its full input (<see cref="TurnOptions.ResetChain"/>), for the bytes comparison.
/// </summary>
internal static class SessionsLoad
{
    public static async Task<int> RunAsync(Uri url, string key, int sessionCount, int turns, bool full, TimeSpan warmup)
    {
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            fantasy.upstream.websocket-url = "{url}"
            fantasy.session.idle-close-after = 60m
            """).WithFallback(FantasySettings.DefaultConfig);
        using var system = ActorSystem.Create("sessions-load", config);
        var api = new ResponsesSessions(system, new UpstreamCredentials(key));
        using var http = new HttpClient();
        var stats = new Uri(new UriBuilder(url) { Scheme = url.Scheme == "wss" ? "https" : "http", Path = "/_stats" }.Uri.ToString());

        // Warm up until tiered compilation has settled (see Program.cs): rounds of up to 100 concurrent
        // conversations on the same warm-up sessions, for the given time.
        var warming = Stopwatch.StartNew();
        var warmers = Math.Min(sessionCount, 100);
        do
        {
            await Task.WhenAll(Enumerable.Range(0, warmers).Select(w =>
                Task.Run(() => ConversationAsync(api, new SessionKey("warm", $"w{w}"), 5, full, null))));
        }
        while (warming.Elapsed < warmup);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var bytesBefore = await UpstreamBytesAsync(http, stats);
        var latencies = new double[sessionCount * turns];
        var clock = Stopwatch.StartNew();
        var failures = await Task.WhenAll(Enumerable.Range(0, sessionCount).Select(s =>
            Task.Run(() => ConversationAsync(api, new SessionKey("load", $"s{s}"), turns, full, latencies.AsMemory(s * turns, turns)))));
        clock.Stop();
        var bytes = await UpstreamBytesAsync(http, stats) - bytesBefore;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
        var process = Process.GetCurrentProcess();

        Array.Sort(latencies);
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
        var total = sessionCount * turns;
        var failed = failures.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mode sessions{(full ? " (full input every turn)" : string.Empty)}, sessions {sessionCount}, turns/session {turns}, total turns {total}, failed {failed}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"elapsed {clock.Elapsed.TotalSeconds:F2} s, {total / clock.Elapsed.TotalSeconds:F0} turns/s, turn latency ms p50 {P(0.5):F2}, p99 {P(0.99):F2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bytes sent upstream {bytes:N0} ({bytes / (double)total:F0} per turn)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"managed memory held by {sessionCount} idle open sessions: {(memoryAfter - memoryBefore) / 1024.0 / sessionCount:F1} KB each; working set {process.WorkingSet64 / 1024.0 / 1024:F0} MB"));
        return failed == 0 ? 0 : 1;
    }

    private static async Task<int> ConversationAsync(ResponsesSessions api, SessionKey key, int turns, bool full, Memory<double>? latencies)
    {
        var items = new List<JsonElement>();
        var failed = 0;
        for (var t = 0; t < turns; t++)
        {
            items.Add(JsonDocument.Parse($$"""{"type":"message","role":"user","content":"turn {{t}}{{(t % 2 == 0 ? ": CALL lookup 2" : string.Empty)}}"}""").RootElement);
            var request = new ResponseRequest { Model = "load", Instructions = "be brief", Store = false, Input = [.. items] };
            var started = Stopwatch.GetTimestamp();
            var end = await api.RunTurnToEndAsync(key, request, full ? new TurnOptions { ResetChain = true } : null).ConfigureAwait(false);
            if (latencies is { } l)
            {
                l.Span[t] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }

            if (end.Outcome != TurnOutcome.Completed || !end.Result.Text.EndsWith($"ok: {items.Count}", StringComparison.Ordinal) && end.Result.FunctionCalls.Count == 0)
            {
                failed++;
                Console.Error.WriteLine($"{key} turn {t}: {end.Outcome} {end.Reason} {end.Result.Text}");
            }

            items.AddRange(end.Result.Output.Select(o => o.Json));
            foreach (var call in end.Result.FunctionCalls)
            {
                items.Add(JsonDocument.Parse($$"""{"type":"function_call_output","call_id":"{{call.CallId}}","output":"42"}""").RootElement);
            }
        }

        return failed;
    }

    private static async Task<long> UpstreamBytesAsync(HttpClient http, Uri stats)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync(stats).ConfigureAwait(false));
        return doc.RootElement.GetProperty("websocket_bytes_received").GetInt64();
    }
}
