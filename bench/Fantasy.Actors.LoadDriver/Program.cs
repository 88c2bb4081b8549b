using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Fantasy.Actors.Protocol;

// Load driver: C concurrent WebSocket conversations, each T chained turns (previous_response_id plus
// one new user message), against a Responses endpoint on loopback (the simulator, or later the
// gateway). Prints turns/s, events/s and per-turn latency percentiles.
//   dotnet run -c Release --project bench/Fantasy.Actors.LoadDriver -- --url ws://127.0.0.1:5099/v1/responses [--connections 50] [--turns 200] [--key K]
var url = new Uri(Arg("--url", "ws://127.0.0.1:5099/v1/responses"));
var connections = int.Parse(Arg("--connections", "50"), CultureInfo.InvariantCulture);
var turns = int.Parse(Arg("--turns", "200"), CultureInfo.InvariantCulture);
var key = Arg("--key", "sk-load");
var warmupTurns = Math.Min(20, turns);

var latencies = new double[connections * turns];
long events = 0;
long errors = 0;

// Warm the JIT on both sides before measuring.
await ConversationAsync(-1, warmupTurns, record: false);

var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(() => ConversationAsync(c, turns, record: true))));
clock.Stop();

var total = connections * turns;
Array.Sort(latencies);
double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"connections {connections}, turns/connection {turns}, total turns {total}, errors {errors}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"elapsed {clock.Elapsed.TotalSeconds:F2} s, {total / clock.Elapsed.TotalSeconds:F0} turns/s, {events / clock.Elapsed.TotalSeconds:F0} events/s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"turn latency ms: p50 {P(0.50):F2}, p90 {P(0.90):F2}, p99 {P(0.99):F2}, max {latencies[^1]:F2}"));
return errors == 0 ? 0 : 1;

async Task ConversationAsync(int index, int count, bool record)
{
    using var socket = new ClientWebSocket();
    socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
    await socket.ConnectAsync(url, CancellationToken.None);
    var buffer = new ArrayBufferWriter<byte>(64 * 1024);
    string? previous = null;
    var request = new ResponseRequest { Model = "load", Instructions = "be brief", Store = false };
    for (var t = 0; t < count; t++)
    {
        var item = JsonDocument.Parse($$"""{"type":"message","role":"user","content":"conversation {{index}} turn {{t}}"}""").RootElement;
        var started = Stopwatch.GetTimestamp();
        await socket.SendAsync(request.ToWebSocketFrame(previous, [item]), WebSocketMessageType.Text, true, CancellationToken.None);
        var acc = new TurnAccumulator();
        while (true)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult r;
            do
            {
                r = await socket.ReceiveAsync(buffer.GetMemory(16 * 1024), CancellationToken.None);
                buffer.Advance(r.Count);
            }
            while (!r.EndOfMessage);

            if (record)
            {
                Interlocked.Increment(ref events);
            }

            if (acc.Apply(EventParser.Parse(buffer.WrittenSpan)) == TurnProgress.Ended)
            {
                break;
            }
        }

        var result = acc.ToResult();
        if (result.Status != TurnStatus.Completed)
        {
            Interlocked.Increment(ref errors);
            previous = null;
        }
        else
        {
            previous = result.ResponseId;
        }

        if (record)
        {
            latencies[index * count + t] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
    }

    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
}

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
