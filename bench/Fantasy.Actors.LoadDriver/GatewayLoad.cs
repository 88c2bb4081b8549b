using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// The session API's tool loop through the gateway: C clients × T turns of <c>POST /v1/responses</c> with
/// <c>stream: true</c>, each client sending its whole conversation every turn (as a stateless OpenAI client does)
/// and reading the SSE stream to its end. The figure is the gateway process's CPU per turn (read from
/// /proc for <c>--gateway-pid</c>), so the client's own cost is not in it.
/// </summary>
internal static class GatewayLoad
{
    public static async Task<int> RunAsync(Uri gateway, string key, int gatewayPid, int clients, int turns, TimeSpan warmup)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = TimeSpan.FromMinutes(2) };
        var endpoint = new Uri(gateway, "responses");
        var gatewayProcess = Process.GetProcessById(gatewayPid);

        var warming = Stopwatch.StartNew();
        var round = 0;
        do
        {
            var r = round++;
            await Task.WhenAll(Enumerable.Range(0, Math.Min(clients, 64)).Select(c =>
                Task.Run(() => ConversationAsync(http, endpoint, key, $"warm-{r}-{c}", 5, null))));
        }
        while (warming.Elapsed < warmup);

        // Then runs of the measured shape until the gateway compiled fewer than 20 methods in one (its runtime's
        // dotnet.jit.compiled_methods on /metrics), at most 120 s: long conversations set off a wave of recompilation
        // (dynamic PGO) that short warm-up rounds never reach.
        var shaped = Stopwatch.StartNew();
        var shapeRuns = 0;
        long compiled;
        do
        {
            var before = await CompiledMethodsAsync(http, gateway).ConfigureAwait(false);
            var r = shapeRuns++;
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c =>
                Task.Run(() => ConversationAsync(http, endpoint, key, $"shape-{r}-{c}", turns, null))));
            compiled = await CompiledMethodsAsync(http, gateway).ConfigureAwait(false) - before;
        }
        while (compiled >= 20 && shaped.Elapsed < TimeSpan.FromSeconds(120));
        var warmed = string.Create(CultureInfo.InvariantCulture,
            $"warm-up {warming.Elapsed.TotalSeconds - shaped.Elapsed.TotalSeconds:F1} s; then {shapeRuns} run(s) of the measured shape ({shaped.Elapsed.TotalSeconds:F1} s, the gateway compiled {compiled} methods in the last{(compiled >= 20 ? ", not settled" : string.Empty)})");

        gatewayProcess.Refresh();
        var cpuBefore = gatewayProcess.TotalProcessorTime;
        if (Environment.GetEnvironmentVariable("MEASURING_FILE") is { } mark)
        {
            File.WriteAllText(mark, "measuring");
        }

        var latencies = new double[clients * turns];
        var clock = Stopwatch.StartNew();
        var failures = await Task.WhenAll(Enumerable.Range(0, clients).Select(c =>
            Task.Run(() => ConversationAsync(http, endpoint, key, $"load-{c}", turns, latencies.AsMemory(c * turns, turns)))));
        clock.Stop();
        gatewayProcess.Refresh();
        var cpu = gatewayProcess.TotalProcessorTime - cpuBefore;

        Array.Sort(latencies);
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
        var total = clients * turns;
        var failed = failures.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mode gateway (clients send their whole history, SSE), clients {clients}, turns/client {turns}, total turns {total}, failed {failed}"));
        Console.WriteLine(warmed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway cpu per turn {cpu.TotalMilliseconds / total:F3} ms ({cpu.TotalMilliseconds * 1000 / total:F0} us)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"elapsed {clock.Elapsed.TotalSeconds:F2} s, {total / clock.Elapsed.TotalSeconds:F0} turns/s, turn latency ms p50 {P(0.5):F2}, p99 {P(0.99):F2}"));
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The gateway runtime's count of methods compiled (<c>dotnet_jit_compiled_methods</c> on its /metrics).</summary>
    private static async Task<long> CompiledMethodsAsync(HttpClient http, Uri gateway)
    {
        var text = await http.GetStringAsync(new Uri(gateway, "/metrics")).ConfigureAwait(false);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("dotnet_jit_compiled_methods", StringComparison.Ordinal) && !line.Contains("_bytes", StringComparison.Ordinal))
            {
                return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("the gateway's /metrics has no dotnet_jit_compiled_methods");
    }

    /// <summary>The sessions mode's tool loop over HTTP: one function call a turn, answered in the next turn.</summary>
    internal static async Task<int> ConversationAsync(HttpClient http, Uri endpoint, string key, string session, int turns, Memory<double>? latencies)
    {
        var items = new List<string>();
        var failed = 0;
        for (var t = 0; t < turns; t++)
        {
            items.Add($$"""{"type":"message","role":"user","content":"turn {{t}}: CALL lookup 1"}""");
            var body = $$"""{"model":"load","instructions":"be brief","store":false,"stream":true,"input":[{{string.Join(',', items)}}]}""";
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            request.Headers.Add("X-Session-Id", session);
            var started = Stopwatch.GetTimestamp();
            string? completed = null;
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
                while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
                {
                    if (line.StartsWith("data: ", StringComparison.Ordinal) && line.Contains("\"response.completed\"", StringComparison.Ordinal))
                    {
                        completed = line[6..];
                    }
                }
            }
            catch (HttpRequestException ex)
            {
                Console.Error.WriteLine($"{session} turn {t}: {ex.Message}");
            }

            if (latencies is { } l)
            {
                l.Span[t] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }

            if (completed is null)
            {
                failed++;
                Console.Error.WriteLine($"{session} turn {t}: no response.completed");
                continue;
            }

            using var doc = JsonDocument.Parse(completed);
            foreach (var output in doc.RootElement.GetProperty("response").GetProperty("output").EnumerateArray())
            {
                items.Add(output.GetRawText());
                if (output.GetProperty("type").GetString() == "function_call")
                {
                    items.Add($$"""{"type":"function_call_output","call_id":"{{output.GetProperty("call_id").GetString()}}","output":"42"}""");
                }
            }
        }

        return failed;
    }
}
