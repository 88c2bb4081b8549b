using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;
using Serilog;

namespace Fantasy.Actors.Host;

/// <summary>
/// The gateway's own code run once before it listens: a throwaway actor system and simulator on loopback, and a short
/// tool loop through the sessions API as the gateway runs it (each body read against the previous request, the events
/// written as SSE frames into a buffer). A fresh process otherwise spent ~300 ms on its first turn compiling and
/// loading what every turn uses — actors, the stream materializer, the socket, the parser — while later sessions'
/// first turns took 67 ms (bench/cold-turns.sh). Nothing reaches the upstream; the metrics listeners are not
/// started yet, so nothing is counted; any failure is logged and the gateway starts anyway.
/// </summary>
internal static class GatewayWarmUp
{
    private const int Turns = 3;

    public static async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await using var simulator = await ResponsesSimulator.StartAsync(new SimulatorOptions(), cancellationToken).ConfigureAwait(false);
            var config = ConfigurationFactory.ParseString($"""
                akka.loglevel = ERROR
                akka.stdout-loglevel = ERROR
                fantasy.upstream.base-url = "{simulator.BaseUrl}"
                fantasy.upstream.websocket-url = "{simulator.WebSocketUrl}"
                fantasy.connection.keep-raw-events = on
                """).WithFallback(FantasySettings.DefaultConfig);
            using var system = ActorSystem.Create("fantasy-warm-up", config);
            try
            {
                var sessions = new ResponsesSessions(system, new UpstreamCredentials("sk-warm-up"));
                await Task.WhenAll(Enumerable.Range(0, 2).Select(c => ConversationAsync(sessions, new SessionKey("warm-up", $"c{c}"), cancellationToken))).ConfigureAwait(false);
            }
            finally
            {
                await system.Terminate().ConfigureAwait(false);
            }

            Log.Information("warm-up: a {Turns}-turn conversation through the gateway's own code in {Elapsed:0} ms", Turns, clock.Elapsed.TotalMilliseconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Warning(ex, "warm-up failed after {Elapsed:0} ms; the gateway starts without it (its first turns are slower)", clock.Elapsed.TotalMilliseconds);
        }
    }

    private static async Task ConversationAsync(ResponsesSessions sessions, SessionKey key, CancellationToken cancellationToken)
    {
        var history = new ArrayBufferWriter<byte>();
        var sse = new ArrayBufferWriter<byte>();
        ResponseRequest? previous = null;
        IReadOnlyList<JsonElement>? output = null;
        for (var t = 0; t < Turns; t++)
        {
            Append(history, t == 0 ? """{"type":"message","role":"user","content":"CALL lookup 1"}"""u8 : """{"type":"message","role":"user","content":"go on"}"""u8);
            var body = new ArrayBufferWriter<byte>();
            body.Write("""{"model":"warm-up","instructions":"be brief","store":false,"stream":true,"input":["""u8);
            body.Write(history.WrittenSpan);
            body.Write("]}"u8);
            var request = ResponseRequest.Parse(body.WrittenSpan, previous, output);
            var outputs = new List<JsonElement>();
            await foreach (var item in sessions.RunTurnAsync(key, request, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                switch (item)
                {
                    case TurnUpstreamEvent e:
                        SseEventWriter.Write(sse, e.Event.Type, e.Event.ReceivedJson.Span);
                        break;
                    case TurnFinished { End: var end }:
                        outputs.AddRange(end.Result.Output.Select(o => o.Json));
                        break;
                }
            }

            sse.Clear();
            previous = request;
            output = outputs;
            foreach (var item in outputs)
            {
                Append(history, JsonMarshal.GetRawUtf8Value(item));
                if (item.TryGetProperty("call_id", out var callId))
                {
                    Append(history, System.Text.Encoding.UTF8.GetBytes($$"""{"type":"function_call_output","call_id":"{{callId.GetString()}}","output":"42"}"""));
                }
            }
        }

        await sessions.CloseAsync(key, cancellationToken).ConfigureAwait(false);
    }

    private static void Append(ArrayBufferWriter<byte> history, ReadOnlySpan<byte> item)
    {
        if (history.WrittenCount > 0)
        {
            history.Write(","u8);
        }

        history.Write(item);
    }
}
