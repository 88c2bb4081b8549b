using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using OpenAI.Responses;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// --mode sdk-http: the yardstick a .NET caller would otherwise use — the official OpenAI .NET SDK's Responses client
/// sending the whole conversation over HTTP/SSE every turn (streaming), the same tool loop as the sessions modes
/// (one function call per turn, its output and the next user message sent with the history), to the simulator's
/// HTTP endpoint. Prints the start-up CPU (the process's first round) and the steady-state CPU per turn (after the
/// warm-up) separately.
/// </summary>
internal static class SdkHttpLoad
{
    public static async Task<int> RunAsync(Uri baseUrl, string key, int conversations, int turns, TimeSpan warmup)
    {
        var client = new ResponsesClient(new ApiKeyCredential(key), new ResponsesClientOptions { Endpoint = baseUrl });
        var startup = await Startup.MeasureAsync(() => Task.WhenAll(Enumerable.Range(0, conversations).Select(c => ConversationAsync(client, Math.Min(turns, 5), null))), conversations * Math.Min(turns, 5));
        var warmed = await Warmup.UntilSettledAsync(() => Task.WhenAll(Enumerable.Range(0, conversations).Select(c => ConversationAsync(client, Math.Min(turns, 5), null))), warmup);
        warmed += await Warmup.ShapedAsync(_ => Task.WhenAll(Enumerable.Range(0, conversations).Select(c => ConversationAsync(client, turns, null))));

        var latencies = new double[conversations * turns];
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var failed = (await Task.WhenAll(Enumerable.Range(0, conversations).Select(c => ConversationAsync(client, turns, latencies.AsMemory(c * turns, turns))))).Sum();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var total = conversations * turns;
        Array.Sort(latencies);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mode sdk-http (OpenAI .NET SDK, whole history over HTTP/SSE), conversations {conversations}, turns {turns}, failed {failed}"));
        Console.WriteLine(startup);
        Console.WriteLine(warmed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"steady cpu per turn {cpu.TotalMilliseconds / total:F3} ms ({cpu.TotalMilliseconds * 1000 / total:F0} us), {total / clock.Elapsed.TotalSeconds:F0} turns/s, turn latency ms p50 {latencies[total / 2]:F2}, p99 {latencies[Math.Min(total - 1, (int)(total * 0.99))]:F2}"));
        return failed == 0 ? 0 : 1;
    }

    private static async Task<int> ConversationAsync(ResponsesClient client, int turns, Memory<double>? latencies)
    {
        var history = new List<ResponseItem>();
        var failed = 0;
        for (var t = 0; t < turns; t++)
        {
            history.Add(ResponseItem.CreateUserMessageItem($"turn {t}: CALL lookup 1"));
            var started = Stopwatch.GetTimestamp();
            var options = new CreateResponseOptions("load", history) { Instructions = "be brief", StreamingEnabled = true, StoredOutputEnabled = false };
            ResponseResult? result = null;
            IAsyncEnumerable<StreamingResponseUpdate> stream = await client.CreateResponseStreamingAsync(options).ConfigureAwait(false);
            await foreach (var update in stream.ConfigureAwait(false))
            {
                if (update is StreamingResponseCompletedUpdate completed)
                {
                    result = completed.Response;
                }
            }

            if (latencies is { } l)
            {
                l.Span[t] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }

            var calls = result?.OutputItems.OfType<FunctionCallResponseItem>().ToList() ?? [];
            if (result is null || calls.Count != 1)
            {
                failed++;
                continue;
            }

            history.AddRange(result.OutputItems);
            history.AddRange(calls.Select(c => ResponseItem.CreateFunctionCallOutputItem(c.CallId, "42")));
        }

        return failed;
    }
}

/// <summary>What a fresh process's first round costs: its CPU from the process's start to the round's end, per turn.</summary>
internal static class Startup
{
    public static async Task<string> MeasureAsync(Func<Task> firstRound, int turns)
    {
        var clock = Stopwatch.StartNew();
        await firstRound().ConfigureAwait(false);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        return string.Create(CultureInfo.InvariantCulture,
            $"start-up: process cpu {cpu.TotalMilliseconds:F0} ms until its first round of {turns} turns ended ({clock.Elapsed.TotalMilliseconds:F0} ms wall), {cpu.TotalMilliseconds / turns:F2} ms per turn");
    }
}
