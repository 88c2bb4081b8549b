using Fantasy.Actors.Configuration;
using Fantasy.Actors.Streams;
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.LoadDriver;
using Fantasy.Actors.Protocol;

// Load driver: C concurrent WebSocket conversations, each T chained turns (previous_response_id plus
// one new user message), against a Responses endpoint on loopback (the simulator, or later the
// gateway). Prints turns/s, events/s, the driver's CPU per event and per-turn latency percentiles.
//   dotnet run -c Release --project bench/Fantasy.Actors.LoadDriver -- --url ws://127.0.0.1:5099/v1/responses
//       [--connections 50] [--turns 200] [--key K] [--mode plain|actor] [--message "CALL bench 250"]
//       [--akka "extra hocon"] [--warmup-seconds 20] [--allocations] [--hold-seconds 0]
// --mode plain: one ClientWebSocket receive loop per conversation parsing with EventParser (the floor).
// --mode actor: one ConnectionActor per conversation (Akka.Streams reading, events forwarded as messages
//               to a driver actor), the path the service uses.
// --mode stream: the connection's inbound stream alone (socket source, parse, batches) into a channel.
// --mode stream-inline: the inbound stream with the fold inside its sink (no hand-off per event).
// --mode sessions: --connections sessions × --turns tool-loop turns through IResponsesSessions (callers
//               send the full conversation; the service sends deltas); --full sends full input every turn.
// --mode cold-burst: --connections new sessions start their first turn at once on this fresh process (no
//               warm-up): first-turn latency percentiles; every one should be done within 2 s.
// --mode cold-burst-gateway: the same through a freshly started gateway (--gateway http://127.0.0.1:5080/v1,
//               --key its tenant key); bench/cold-burst.sh starts a simulator and a fresh gateway and runs both.
// --mode gateway: --connections HTTP clients × --turns tool-loop turns through the gateway at --gateway (SSE, whole
//               history every turn); prints the gateway process's CPU per turn (--gateway-pid).
// --mode cluster: the sessions tool loop over --nodes N cluster nodes in this process, each turn taken by the next node;
//               --failover then stops the last node without leaving and times its sessions' return.
// --persistence none|sqlite|postgresql --connection-string CS (sessions, recovery): the sessions keep their conversations
//               there; prints what terminals waited for their records and the journal's size per turn.
// --mode recovery: --connections conversations × --turns turns, then a restarted service takes each one's next turn:
//               the recovery's own time and the first turn's latency beside a new conversation's.
// --mode sessions-json: as sessions, the caller holding its request as JSON: it keeps its history as the items' bytes,
//               and each turn's body (the whole history) is read with ResponseRequest.Parse(body, previous, output), as
//               the gateway does (JSON_WHOLE=1: the ordinary parse of the whole body).
//               sessions, sessions-json, sdk-http and gateway warm up until the JIT settles, then run the measured shape
//               until it compiles (nearly) nothing (bench/RESULTS.md). JITLOG=N lists the N methods most compiled during
//               the measured run; JITSERIES=1 prints the count every 250 ms; MEASURING_FILE=path is written when the
//               measured run starts (to attach a profiler then).
// --mode rate-limits: --tenants name=key=conversations,... each conversation sending turns back to back through the
//               gateway for --seconds against a simulator with an organization budget (--stats its /_stats): upstream
//               429s against admitted requests, completed turns per tenant (whole run and after --steady-after), the
//               gateway's own 429s (bench/rate-limits.sh).
// --mode sdk-http: the yardstick: the OpenAI .NET SDK's Responses client sending the whole history over HTTP/SSE to the
//               simulator (the same tool loop); start-up CPU and steady CPU per turn printed apart.
// --mode journal: the journal plugin alone: --connections persistent actors × --turns records each (with --persistence).
//               Environment: WARM_RECORDS (warm-up records per actor, default 20), JOURNAL_HOCON (extra plugin HOCON),
//               ALLOC=1 (allocations by type), JITLOG=1 (methods compiled during the run, by method).
// --mode cold-turns / cold-turns-gateway: --connections new conversations of --turns turns start at once on a fresh
//               process (the driver's own actor system, or a freshly started gateway at --gateway): first turns' latency
//               against the steady p50 (bench/cold-turns.sh).
// --mode sqlite-raw: one-row transactions straight through Microsoft.Data.Sqlite (--turns of them, --connection-string).
// JSON_WHOLE=1 (sessions-json): every input item parsed each turn, not read against the held items.
// --hold-seconds S (sessions): keeps the sessions open and idle S seconds after the report (for dotnet-gcdump).
// --allocations: also prints the sampled allocations by type (bytes per event) of the measured run.
var url = new Uri(Arg("--url", "ws://127.0.0.1:5099/v1/responses"));
var connections = int.Parse(Arg("--connections", "50"), CultureInfo.InvariantCulture);
var turns = int.Parse(Arg("--turns", "200"), CultureInfo.InvariantCulture);
var key = Arg("--key", "sk-load");
var mode = Arg("--mode", "plain");
var message = Arg("--message", "hello");
var warmupTurns = Math.Min(5, turns);
var warmup = TimeSpan.FromSeconds(double.Parse(Arg("--warmup-seconds", "20"), CultureInfo.InvariantCulture));
if (mode == "cold-burst")
{
    return await ColdBurst.LibraryAsync(url, key, connections);
}

if (mode == "cold-burst-gateway")
{
    return await ColdBurst.GatewayAsync(new Uri(Arg("--gateway", "http://127.0.0.1:5080/v1")), Arg("--key", "sk-fantasy-dev"), connections);
}

if (mode == "cold-turns")
{
    return await ColdTurns.LibraryAsync(url, key, connections, turns);
}

if (mode == "cold-turns-gateway")
{
    return await ColdTurns.GatewayAsync(new Uri(Arg("--gateway", "http://127.0.0.1:5080/v1/")),
        new Uri(new UriBuilder(url) { Scheme = url.Scheme == "wss" ? "https" : "http", Path = "/v1/" }.Uri.ToString()), Arg("--key", "sk-fantasy-dev"), connections, turns);
}

if (mode == "cluster")
{
    return await ClusterLoad.RunAsync(url, key, int.Parse(Arg("--nodes", "3"), CultureInfo.InvariantCulture), connections, turns, warmup, args.Contains("--failover"));
}

if (mode == "rate-limits")
{
    // --tenants name=key=conversations,... --seconds S --steady-after S --stats http://127.0.0.1:PORT/_stats
    var tenants = Arg("--tenants", "a=sk-a=50,b=sk-b=50,c=sk-c=50").Split(',').Select(t => t.Split('=')).Select(p => (p[0], p[1], int.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
    return await RateLimitLoad.RunAsync(new Uri(Arg("--gateway", "http://127.0.0.1:5080/v1/")), new Uri(Arg("--stats", "http://127.0.0.1:5099/_stats")), tenants,
        TimeSpan.FromSeconds(double.Parse(Arg("--seconds", "30"), CultureInfo.InvariantCulture)), TimeSpan.FromSeconds(double.Parse(Arg("--steady-after", "10"), CultureInfo.InvariantCulture)));
}

if (mode == "gateway")
{
    return await GatewayLoad.RunAsync(new Uri(Arg("--gateway", "http://127.0.0.1:5080/v1/")), Arg("--key", "sk-fantasy-dev"),
        int.Parse(Arg("--gateway-pid", "0"), CultureInfo.InvariantCulture), connections, turns, warmup);
}

using var durable = new DurableLoad(Arg("--persistence", "none"), Arg("--connection-string", string.Empty));
if (mode == "sqlite-raw")
{
    return await JournalLoad.RawSqliteAsync(Arg("--connection-string", "Data Source=raw.db"), turns);
}

if (mode == "sdk-http")
{
    return await SdkHttpLoad.RunAsync(new Uri(new UriBuilder(url) { Scheme = url.Scheme == "wss" ? "https" : "http", Path = "/v1" }.Uri.ToString()), key, connections, turns, warmup);
}

if (mode == "journal")
{
    return await JournalLoad.RunAsync(connections, turns, durable);
}

if (mode == "recovery")
{
    return await DurableLoad.RecoveryAsync(url, key, connections, turns, durable);
}

if (mode is "sessions" or "sessions-json")
{
    return await SessionsLoad.RunAsync(url, key, connections, turns, full: args.Contains("--full"), warmup, callerChains: args.Contains("--caller-chains"),
        hold: TimeSpan.FromSeconds(double.Parse(Arg("--hold-seconds", "0"), CultureInfo.InvariantCulture)), durable, json: mode == "sessions-json");
}

var stats = new Stats(connections * turns);

using var system = mode == "actor"
    ? ActorSystem.Create("load", ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + Arg("--akka", "")))
    : null;
using var connector = new WebSocketConnector();
using var streamSystem = mode.StartsWith("stream", StringComparison.Ordinal) ? ActorSystem.Create("stream", "akka.loglevel = WARNING") : null;

// Warm up before measuring, until the JIT has settled: a long-running service runs its hot code optimised
// (tier 1), but tiered compilation starts every method unoptimised (tier 0, then instrumented tier 0) and
// promotes it only once the process has gone 100 ms without compiling a new method and the method has then
// been called 30 more times. Measured before that, both paths run several times slower than in steady state, and the
// actor path (more code, more methods to promote) much more so. A busy process that keeps compiling
// something new can postpone promotion for minutes, so the figures in bench/RESULTS.md are taken with
// DOTNET_TC_CallCountingDelayMs=0 (promotion without the quiet period: the same optimised code, sooner).
// Warm-up rounds run for --warmup-seconds; the counts printed after it (methods compiled in the last round
// and while measuring) tell whether steady state was reached.
if (Environment.GetEnvironmentVariable("DOTNET_TC_CallCountingDelayMs") != "0")
{
    Console.WriteLine("note: DOTNET_TC_CallCountingDelayMs is not 0; tiered compilation may not settle during the warm-up (see bench/RESULTS.md)");
}

var warming = Stopwatch.StartNew();
var warmupRounds = 0;
long compiledInRound;
do
{
    var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
    // A round has the run's shape (as many concurrent conversations), so the code paths that only
    // concurrency reaches (contended mailboxes, thread-pool queues) are warmed as well.
    await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(() => RunAsync(-1 - c, warmupTurns, gate: null))));
    warmupRounds++;
    compiledInRound = System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore;
}
while (warming.Elapsed < warmup);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"warm-up {warming.Elapsed.TotalSeconds:F1} s, {warmupRounds} rounds, {compiledInRound} methods compiled in the last round; {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, {Environment.ProcessorCount} processor(s)"));

using var sampler = args.Contains("--allocations") ? new AllocationSampler() : null;
// Every connection is opened before the clock starts (the turns wait at a gate): the figures are event
// throughput with that many warm connections, the steady state of the service; opening them is timed apart.
var gate = new StartGate(connections);
var connectClock = Stopwatch.StartNew();
var connectCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var conversations = Enumerable.Range(0, connections).Select(c => Task.Run(() => RunAsync(c, turns, gate))).ToList();
await Task.WhenAny(gate.AllReady, Task.WhenAll(conversations));
connectClock.Stop();
var connectCpu = Process.GetCurrentProcess().TotalProcessorTime - connectCpuBefore;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"opened {connections} connections in {connectClock.Elapsed.TotalSeconds:F2} s, driver cpu {connectCpu.TotalMilliseconds * 1000 / connections:F0} us per connection"));

// What the open connections hold for their lifetime (sockets, buffers, and on the actor path the actors, their
// mailboxes and the materialized streams) was all just allocated; in a service whose connections live for up to
// an hour it sits in the oldest generation. Collecting once here puts it there, instead of charging its promotion
// through the young generations to the first seconds of the measured run.
GC.Collect();
GC.WaitForPendingFinalizers();
GC.Collect();
// What an open, idle connection keeps (the plain and stream modes make their reader only after the gate, so for
// them this is the socket alone).
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"managed heap with the connections open: {GC.GetTotalMemory(false) / 1e6:F1} MB ({GC.GetTotalMemory(false) / (double)connections / 1024:F1} KB per connection)"));

// --hold-seconds: keeps the connections open and idle before the measured run (time to take a heap snapshot).
if (double.Parse(Arg("--hold-seconds", "0"), CultureInfo.InvariantCulture) is > 0 and var hold)
{
    Console.WriteLine($"holding the open connections for {hold} s (pid {Environment.ProcessId})");
    await Task.Delay(TimeSpan.FromSeconds(hold));
}

// Sampled from here: the measured run only, not the opening of its connections.
sampler?.Start();
var compiledBeforeRun = System.Runtime.JitInfo.GetCompiledMethodCount();
var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
var pauseBefore = GC.GetTotalPauseDuration();
var workItemsBefore = ThreadPool.CompletedWorkItemCount;
var threadsBefore = ThreadPool.ThreadCount;
var clock = Stopwatch.StartNew();
gate.Open();
await Task.WhenAll(conversations);
clock.Stop();
var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
var pause = GC.GetTotalPauseDuration() - pauseBefore;
var workItems = ThreadPool.CompletedWorkItemCount - workItemsBefore;
var gcs = (GC.CollectionCount(0) - gcBefore.Item1, GC.CollectionCount(1) - gcBefore.Item2, GC.CollectionCount(2) - gcBefore.Item3);

var total = connections * turns;
var latencies = stats.Latencies;
Array.Sort(latencies);
double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"mode {mode}, connections {connections}, turns/connection {turns}, total turns {total}, errors {stats.Errors}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"elapsed {clock.Elapsed.TotalSeconds:F2} s, {total / clock.Elapsed.TotalSeconds:F0} turns/s, {stats.Events / clock.Elapsed.TotalSeconds:F0} events/s, {stats.Events / (double)total:F0} events/turn"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"driver cpu {cpu.TotalSeconds:F2} s, {cpu.TotalMilliseconds * 1000 / Math.Max(1, stats.Events):F2} us/event, allocated {allocated / (double)Math.Max(1, stats.Events):F0} B/event, GCs gen0/1/2 {gcs.Item1}/{gcs.Item2}/{gcs.Item3}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"GC pauses {pause.TotalMilliseconds:F0} ms ({pause / clock.Elapsed:P1} of the run), thread-pool work items {workItems / (double)Math.Max(1, stats.Events):F2} per event, thread-pool threads {threadsBefore} -> {ThreadPool.ThreadCount}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"methods compiled while measuring: {System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBeforeRun}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"turn latency ms: p50 {P(0.50):F2}, p90 {P(0.90):F2}, p99 {P(0.99):F2}, max {latencies[^1]:F2}"));
if (sampler is not null)
{
    sampler.Stop();
    Console.WriteLine(sampler.Promotions());
    Console.WriteLine(sampler.Marked());
    Console.WriteLine("allocations by type (sampled every ~100 KB):");
    foreach (var line in sampler.Top(40, stats.Events))
    {
        Console.WriteLine(line);
    }
}

return stats.Errors == 0 ? 0 : 1;

// Runs one conversation of `count` turns; with a gate (the measured run) it is recorded, and its turns start
// once the gate opens, after every conversation has connected.
Task RunAsync(int index, int count, StartGate? gate) => mode switch
{
    "plain" => PlainConversationAsync(index, count, gate),
    "actor" => ActorConversationAsync(index, count, gate),
    "stream" => StreamConversationAsync(index, count, gate),
    "stream-inline" => StreamInlineConversationAsync(index, count, gate),
    _ => throw new ArgumentException($"--mode must be plain, stream, stream-inline, actor or sessions, not '{mode}'"),
};

Task ActorConversationAsync(int index, int count, StartGate? gate)
{
    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var options = new ConnectionOptions(url, new UpstreamCredentials(key), Epoch: 1,
        ConnectTimeout: TimeSpan.FromSeconds(30), MaxMessageSize: 16 * 1024 * 1024,
        KeepAliveInterval: TimeSpan.Zero, TurnWatchdog: TimeSpan.FromMinutes(5));
    // Not Props.Create(() => new ConversationDriver(...)): Akka evaluates an expression's arguments by
    // reflection when they are plain captured variables, but compiles a lambda for any other argument (the
    // conditional below), which compiled a method per conversation and kept tiered compilation from settling.
    system!.ActorOf(Props.Create<ConversationDriver>(options, connector, index, count, message, gate is null ? null! : stats, gate!, done));
    return done.Task;
}

// Runs `count` chained turns on one socket; `reader` makes, for the open socket, the function that reads
// the next event the way the mode reads (plain loop, the inbound stream through a channel).
async Task SocketConversationAsync(int index, int count, StartGate? gate, Func<ClientWebSocket, Func<ValueTask<ServerEvent>>> reader)
{
    var record = gate is not null;
    using var socket = await ConnectAsync(gate);
    var nextEvent = reader(socket);
    string? previous = null;
    for (var t = 0; t < count; t++)
    {
        var started = Stopwatch.GetTimestamp();
        await SendTurnAsync(socket, index, t, previous);
        var acc = new TurnAccumulator();
        while (true)
        {
            var e = await nextEvent();
            if (record)
            {
                stats.Event();
            }

            if (acc.Apply(e) == TurnProgress.Ended)
            {
                break;
            }
        }

        previous = EndTurn(acc.ToResult(), index * count + t, started, record);
    }

    socket.Abort();
}

// Opens a socket; with a gate, then waits until every conversation has connected and the gate opens.
async Task<ClientWebSocket> ConnectAsync(StartGate? gate)
{
    var socket = new ClientWebSocket();
    socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
    try
    {
        await socket.ConnectAsync(url, CancellationToken.None);
    }
    catch when (gate is not null)
    {
        stats.Error();
        _ = gate.Arrived(); // counts this conversation as arrived; it does not wait for the gate
        throw;
    }

    if (gate is not null)
    {
        await gate.Arrived();
    }

    return socket;
}

Task SendTurnAsync(ClientWebSocket socket, int index, int turn, string? previous) =>
    socket.SendAsync(ConversationDriver.Request.ToWebSocketFrame(previous, [ConversationDriver.UserItem(index, turn, message)]),
        WebSocketMessageType.Text, true, CancellationToken.None);

// Records the turn and returns the id the next turn chains from.
string? EndTurn(TurnResult result, int slot, long started, bool record)
{
    if (record)
    {
        stats.Turn(slot, Stopwatch.GetElapsedTime(started), result.Status == TurnStatus.Completed);
    }

    return result.Status == TurnStatus.Completed ? result.ResponseId : null;
}

// The plain loop: one reused buffer, messages reassembled and parsed in place (the floor).
Task PlainConversationAsync(int index, int count, StartGate? gate) =>
    SocketConversationAsync(index, count, gate, socket =>
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        return async ValueTask<ServerEvent> () =>
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult r;
            do
            {
                r = await socket.ReceiveAsync(buffer.GetMemory(16 * 1024), CancellationToken.None);
                buffer.Advance(r.Count);
            }
            while (!r.EndOfMessage);

            return EventParser.Parse(buffer.WrittenSpan);
        };
    });

// The inbound stream alone (socket source → parse → batches) into a channel, no actor.
Task StreamConversationAsync(int index, int count, StartGate? gate) =>
    SocketConversationAsync(index, count, gate, socket =>
    {
        var queue = System.Threading.Channels.Channel.CreateUnbounded<ServerEvent>();
        _ = InboundFrames.From(socket, 16 * 1024 * 1024, CancellationToken.None)
            .Via(InboundFrames.Parse())
            .Via(InboundFrames.Batches(16))
            .RunWith(Akka.Streams.Dsl.Sink.ForEach<InboundBatch>(b =>
            {
                foreach (var e in b.Elements)
                {
                    queue.Writer.TryWrite((ServerEvent)e);
                }

                b.Release();
            }), Akka.Streams.ActorMaterializer.Create(streamSystem!));
        return () => queue.Reader.ReadAsync();
    });

// The inbound stream with the fold inside its sink (no hand-off to another thread per event).
async Task StreamInlineConversationAsync(int index, int count, StartGate? gate)
{
    var record = gate is not null;
    using var socket = await ConnectAsync(gate);
    var acc = new TurnAccumulator();
    var turnDone = new TaskCompletionSource<TurnResult>(TaskCreationOptions.RunContinuationsAsynchronously);
    _ = InboundFrames.From(socket, 16 * 1024 * 1024, CancellationToken.None)
        .Via(InboundFrames.Parse())
        .RunWith(Akka.Streams.Dsl.Sink.ForEach<object>(e =>
        {
            if (record)
            {
                stats.Event();
            }

            if (acc.Apply((ServerEvent)e) == TurnProgress.Ended)
            {
                var result = acc.ToResult();
                acc = new TurnAccumulator();
                Volatile.Read(ref turnDone).TrySetResult(result);
            }
        }), Akka.Streams.ActorMaterializer.Create(streamSystem!));
    string? previous = null;
    for (var t = 0; t < count; t++)
    {
        var started = Stopwatch.GetTimestamp();
        var done = new TaskCompletionSource<TurnResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref turnDone, done);
        await SendTurnAsync(socket, index, t, previous);
        previous = EndTurn(await done.Task, index * count + t, started, record);
    }

    socket.Abort();
}

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
