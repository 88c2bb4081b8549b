using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// S sessions × T tool-loop turns through the public API (<see cref="IResponsesSessions"/>), each caller
/// sending its FULL conversation every turn as a stateless client does. With <c>full</c>, every turn is
/// sent with its full input (<see cref="TurnOptions.ResetChain"/>), for the bytes comparison.
/// </summary>
internal static class SessionsLoad
{
    public static async Task<int> RunAsync(Uri url, string key, int sessionCount, int turns, bool full, TimeSpan warmup, bool callerChains = false, TimeSpan hold = default, DurableLoad? durable = null, bool json = false)
    {
        var hocon = $"""
            akka.loglevel = WARNING
            fantasy.upstream.websocket-url = "{url}"
            fantasy.session.idle-close-after = 60m
            """;
        using var system = durable is { Enabled: true } ? durable.System("sessions-load", hocon) : ActorSystem.Create("sessions-load", ConfigurationFactory.ParseString(hocon).WithFallback(FantasySettings.DefaultConfig));
        var api = new ResponsesSessions(system, new UpstreamCredentials(key));
        using var http = new HttpClient();
        var stats = new Uri(new UriBuilder(url) { Scheme = url.Scheme == "wss" ? "https" : "http", Path = "/_stats" }.Uri.ToString());

        // Warm up until tiered compilation has settled (see Program.cs): rounds of up to 100 concurrent
        // conversations on the same warm-up sessions, for the given time.
        var warmers = Math.Min(sessionCount, 100);
        var startup = await Startup.MeasureAsync(() => Task.WhenAll(Enumerable.Range(0, warmers).Select(w =>
            Task.Run(() => ConversationAsync(api, new SessionKey("start", $"w{w}"), Math.Min(turns, 5), full, callerChains, null, json)))), warmers * Math.Min(turns, 5));
        // Each round on new sessions, closed after it: opening a session (its actors, socket and stream) is part of the
        // steady state of a service whose conversations come and go, and the measured run opens new ones.
        var round = 0;
        var warmed = await Warmup.UntilSettledAsync(async () =>
        {
            var r = round++;
            await Task.WhenAll(Enumerable.Range(0, warmers).Select(w =>
                Task.Run(() => ConversationAsync(api, new SessionKey("warm", $"r{r}w{w}"), 5, full, callerChains, null, json))));
            await Task.WhenAll(Enumerable.Range(0, warmers).Select(w => api.CloseAsync(new SessionKey("warm", $"r{r}w{w}"))));
        }, warmup);

        // Then runs of the measured shape (as many conversations, as long) on sessions closed after each, until one
        // compiles fewer than 20 methods (at most 120 s): the runtime recompiles a wave of a few thousand methods
        // (dynamic PGO) once conversations grow long, which short warm-up rounds never reach; measured without this,
        // "steady" CPU carried several seconds of JIT.
        warmed += await Warmup.ShapedAsync(r => Task.WhenAll(Enumerable.Range(0, sessionCount).Select(async s =>
        {
            var key = new SessionKey("shape", $"r{r}s{s}");
            await Task.Run(() => ConversationAsync(api, key, turns, full, callerChains, null, json)).ConfigureAwait(false);
            await api.CloseAsync(key).ConfigureAwait(false);
        })));

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        durable?.ClearTimings();
        var journalBefore = durable is { Enabled: true } ? await durable.SizeAsync() : 0;
        var workingSetBefore = Process.GetCurrentProcess().WorkingSet64;
        var bytesBefore = await UpstreamBytesAsync(http, stats);
        var latencies = new double[sessionCount * turns];
        using var jit = Environment.GetEnvironmentVariable("JITLOG") is null ? null : new JitLog();
        jit?.Recording = true;
        var jittedBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTimeBefore = System.Runtime.JitInfo.GetCompilationTime();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var gcsBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var clock = Stopwatch.StartNew();
        if (Environment.GetEnvironmentVariable("MEASURING_FILE") is { } mark)
        {
            File.WriteAllText(mark, "measuring");
        }

        using var jitSeries = Environment.GetEnvironmentVariable("JITSERIES") is null ? null : new Timer(_ => Console.Error.Write($"{clock.ElapsedMilliseconds}:{System.Runtime.JitInfo.GetCompiledMethodCount() - jittedBefore} "), null, 0, 250);
        var failures = await Task.WhenAll(Enumerable.Range(0, sessionCount).Select(s =>
            Task.Run(() => ConversationAsync(api, new SessionKey("load", $"s{s}"), turns, full, callerChains, latencies.AsMemory(s * turns, turns), json))));
        clock.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jittedBefore;
        var jitTime = System.Runtime.JitInfo.GetCompilationTime() - jitTimeBefore;
        jit?.Recording = false;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        var gcs = (GC.CollectionCount(0) - gcsBefore.Item1, GC.CollectionCount(1) - gcsBefore.Item2, GC.CollectionCount(2) - gcsBefore.Item3);
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
            $"mode sessions{(json ? "-json" : string.Empty)}{(full ? " (full input every turn)" : callerChains ? " (the caller chains: previous_response_id + new items)" : " (the caller sends its whole history)")}, sessions {sessionCount}, turns/session {turns}, total turns {total}, failed {failed}"));
        Console.WriteLine(startup);
        Console.WriteLine(warmed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"driver cpu per turn {cpu.TotalMilliseconds / total:F3} ms ({cpu.TotalMilliseconds * 1000 / total:F0} us), allocated {allocated / total / 1024.0:F1} KB per turn, GCs gen0/1/2 {gcs.Item1}/{gcs.Item2}/{gcs.Item3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"compiled during the run: {jitted} methods, {jitTime.TotalMilliseconds:F0} ms"));
        jit?.Print(int.Parse(Environment.GetEnvironmentVariable("JITLOG")!, CultureInfo.InvariantCulture));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"elapsed {clock.Elapsed.TotalSeconds:F2} s, {total / clock.Elapsed.TotalSeconds:F0} turns/s, turn latency ms p50 {P(0.5):F2}, p99 {P(0.99):F2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bytes sent upstream {bytes:N0} ({bytes / (double)total:F0} per turn)"));
        if (durable is { Enabled: true })
        {
            var journal = await durable.SizeAsync() - journalBefore;
            Console.WriteLine($"persistence {durable.Provider}: {durable.WriteTimings()}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"database grew {journal / 1024.0:F0} KB ({journal / (double)total:F0} bytes per turn, pages and indexes included)"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"managed memory held by {sessionCount} idle open sessions: {(memoryAfter - memoryBefore) / 1024.0 / sessionCount:F1} KB each; working set {process.WorkingSet64 / 1024.0 / 1024:F0} MB"));
        if (hold > TimeSpan.Zero)
        {
            Console.WriteLine($"holding the sessions open for {hold.TotalSeconds:F0} s (pid {Environment.ProcessId})");
            await Task.Delay(hold).ConfigureAwait(false);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var held = GC.GetTotalMemory(forceFullCollection: true);
            var workingSet = Process.GetCurrentProcess().WorkingSet64;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"after {hold.TotalSeconds:F0} s idle: {sessionCount} open sessions, managed {(held - memoryBefore) / 1024.0 / sessionCount:F1} KB each, working set {workingSet / 1024.0 / 1024:F0} MB ({(workingSet - workingSetBefore) / 1024.0 / sessionCount:F1} KB each over the {workingSetBefore / 1024.0 / 1024:F0} MB before)"));
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// A tool loop: every turn one function call, answered in the next turn with its result and a new user message.
    /// The caller sends its whole history every turn, or (<paramref name="callerChains"/>) only the new items with
    /// the previous response id, as a caller that chains itself does.
    /// </summary>
    internal static async Task<int> ConversationAsync(ResponsesSessions api, SessionKey key, int turns, bool full, bool callerChains, Memory<double>? latencies, bool json = false)
    {
        var items = new List<JsonElement>();
        var fresh = new List<JsonElement>();
        var sent = new ArrayBufferWriter<byte>(4096); // a JSON-holding caller's history: the items' bytes, joined
        ResponseRequest? previousRequest = null;
        IReadOnlyList<JsonElement>? previousOutput = null;
        var wholeParse = Environment.GetEnvironmentVariable("JSON_WHOLE") is not null;
        string? previous = null;
        var failed = 0;
        for (var t = 0; t < turns; t++)
        {
            var user = JsonDocument.Parse($$"""{"type":"message","role":"user","content":"turn {{t}}: CALL lookup 1"}""").RootElement;
            items.Add(user);
            fresh.Add(user);
            var request = new ResponseRequest { Model = "load", Instructions = "be brief", Store = false, Input = callerChains ? [.. fresh] : [.. items] };
            if (json)
            {
                // A caller holding JSON (as the gateway does): it keeps its history as the bytes it sent and got, and its
                // body is that history inside the request's fields (one pooled buffer, copied into, no serialising);
                // the service parses it, read against the previous request and its output
                // (ResponseRequest.Parse(body, previous, output)), as the gateway does (JSON_WHOLE=1: the ordinary
                // parse of the whole body, the cost before that).
                Append(sent, user);
                var body = ArrayPool<byte>.Shared.Rent(BodyHead.Length + sent.WrittenCount + 2);
                BodyHead.CopyTo(body, 0);
                sent.WrittenSpan.CopyTo(body.AsSpan(BodyHead.Length));
                "]}"u8.CopyTo(body.AsSpan(BodyHead.Length + sent.WrittenCount));
                var span = body.AsSpan(0, BodyHead.Length + sent.WrittenCount + 2);
                request = wholeParse ? ResponseRequest.Parse(span) : ResponseRequest.Parse(span, previousRequest, previousOutput);
                ArrayPool<byte>.Shared.Return(body);
            }

            var options = full ? new TurnOptions { ResetChain = true } : callerChains && previous is not null ? new TurnOptions { PreviousResponseId = previous } : null;
            var started = Stopwatch.GetTimestamp();
            var end = await api.RunTurnToEndAsync(key, request, options).ConfigureAwait(false);
            fresh.Clear();
            previous = end.ResponseId;
            if (latencies is { } l)
            {
                l.Span[t] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }

            if (end.Outcome != TurnOutcome.Completed || end.Result.FunctionCalls.Count != 1)
            {
                failed++;
                Console.Error.WriteLine($"{key} turn {t}: {end.Outcome} {end.Reason} {end.Result.Text}");
            }

            previousRequest = request;
            previousOutput = [.. end.Result.Output.Select(o => o.Json)];
            items.AddRange(previousOutput);
            foreach (var call in end.Result.FunctionCalls)
            {
                var result = JsonDocument.Parse($$"""{"type":"function_call_output","call_id":"{{call.CallId}}","output":"42"}""").RootElement;
                items.Add(result);
                fresh.Add(result);
            }

            if (json)
            {
                foreach (var item in previousOutput.Concat(fresh))
                {
                    Append(sent, item);
                }
            }
        }

        return failed;
    }

    private static async Task<long> UpstreamBytesAsync(HttpClient http, Uri stats)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync(stats).ConfigureAwait(false));
        return doc.RootElement.GetProperty("websocket_bytes_received").GetInt64();
    }


    private static readonly byte[] BodyHead = """{"model":"load","instructions":"be brief","store":false,"input":["""u8.ToArray();

    /// <summary>Adds an item's bytes to a history of joined items.</summary>
    private static void Append(ArrayBufferWriter<byte> history, JsonElement item)
    {
        if (history.WrittenCount > 0)
        {
            history.Write(","u8);
        }

        history.Write(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(item));
    }
}
