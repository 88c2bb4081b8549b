using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// A burst of new conversations on a cold process: S sessions start their first turn at the same moment, with
/// nothing warmed up (no JIT warm-up, the default thread pool, no session yet). Run it in a fresh process: the
/// library mode starts its own actor system; the gateway mode needs a freshly started gateway.
/// Prints first-turn latency percentiles, the slowest, how many took longer than the bound, and the failures.
/// </summary>
internal static class ColdBurst
{
    /// <summary>Every first turn of the burst should be done within this.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    public static async Task<int> LibraryAsync(Uri url, string key, int sessionCount)
    {
        var clock = Stopwatch.StartNew();
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            fantasy.upstream.websocket-url = "{url}"
            """).WithFallback(FantasySettings.DefaultConfig);
        using var system = ActorSystem.Create("cold-burst", config);
        var api = new ResponsesSessions(system, new UpstreamCredentials(key));
        var startup = clock.Elapsed;
        var results = await BurstAsync(sessionCount, async s =>
        {
            var request = new ResponseRequest { Model = "burst", Instructions = "be brief", Store = false, Input = [JsonDocument.Parse("""{"type":"message","role":"user","content":"hello"}""").RootElement] };
            var end = await api.RunTurnToEndAsync(new SessionKey("burst", $"s{s}"), request).ConfigureAwait(false);
            return end.Outcome == TurnOutcome.Completed && end.Result.Text == "ok: 1" ? null : $"{end.Outcome}: {end.Reason}";
        });
        return Report("library", sessionCount, startup, results);
    }

    public static async Task<int> GatewayAsync(Uri gateway, string key, int sessionCount)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = TimeSpan.FromMinutes(2) };
        var endpoint = new Uri(gateway.ToString().TrimEnd('/') + "/responses");
        var results = await BurstAsync(sessionCount, async s =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
            {
                Content = new StringContent("""{"model":"burst","instructions":"be brief","input":"hello","store":false}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            request.Headers.Add("X-Session-Id", $"burst-{s}");
            using var response = await http.SendAsync(request).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            return response.IsSuccessStatusCode && body.Contains("ok: 1", StringComparison.Ordinal) ? null : $"{(int)response.StatusCode}: {body[..Math.Min(body.Length, 200)]}";
        });
        return Report("gateway", sessionCount, null, results);
    }

    /// <summary>Starts every session's first turn at once (released together by one gate) and times each to its end.</summary>
    private static async Task<(double Ms, string? Failure)[]> BurstAsync(int sessionCount, Func<int, Task<string?>> firstTurn)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0L;
        var turns = Enumerable.Range(0, sessionCount).Select(async s =>
        {
            await go.Task.ConfigureAwait(false);
            string? failure;
            try
            {
                failure = await firstTurn(s).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                failure = ex.GetType().Name + ": " + ex.Message;
            }

            return (Stopwatch.GetElapsedTime(Volatile.Read(ref started)).TotalMilliseconds, failure);
        }).ToArray();
        Volatile.Write(ref started, Stopwatch.GetTimestamp());
        go.SetResult();
        return await Task.WhenAll(turns).ConfigureAwait(false);
    }

    private static int Report(string mode, int sessionCount, TimeSpan? startup, (double Ms, string? Failure)[] results)
    {
        var latencies = results.Select(r => r.Ms).Order().ToArray();
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
        var failures = results.Where(r => r.Failure is not null).ToList();
        var slow = latencies.Count(l => l > Bound.TotalMilliseconds);
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cold burst ({mode}): {sessionCount} new sessions at once, {Environment.ProcessorCount} processor(s), thread pool min {minWorkers}, {ThreadPool.ThreadCount} threads at the end{(startup is { } s ? $", actor system started in {s.TotalMilliseconds:F0} ms" : string.Empty)}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"first turn ms: p50 {P(0.5):F0}, p90 {P(0.9):F0}, p99 {P(0.99):F0}, max {latencies[^1]:F0}; over {Bound.TotalSeconds:F0} s: {slow}; failed: {failures.Count}"));
        foreach (var f in failures.Take(5))
        {
            Console.Error.WriteLine("  " + f.Failure);
        }

        return failures.Count == 0 && slow == 0 ? 0 : 1;
    }
}
