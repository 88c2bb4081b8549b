using System.Globalization;
using System.Runtime.InteropServices;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// The standalone simulator as a command (<c>dotnet run --project src/Simulator</c>, the <c>fantasy-simulator</c> tool):
/// <c>--help</c> lists the flags; prints <c>LISTENING &lt;port&gt;</c> when ready; counters at <c>GET /_stats</c>;
/// Ctrl+C or SIGTERM stops it.
/// </summary>
public static class SimulatorCommand
{
    /// <summary>Runs the simulator with command-line <paramref name="args"/> until SIGINT/SIGTERM; the process's exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Contains("--help"))
        {
            Console.WriteLine(Cli.Usage);
            return 0;
        }

        SimulatorOptions options;
        IReadOnlyList<Action<SimulatorFaults>> faults;
        try
        {
            (options, faults) = Cli.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"simulator: {ex.Message}\n{Cli.Usage}");
            return 2;
        }

        ResponsesSimulator simulator;
        try
        {
            simulator = await ResponsesSimulator.StartAsync(options);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"simulator: cannot listen on 127.0.0.1:{options.Port.ToString(CultureInfo.InvariantCulture)}: {ex.Message}");
            return 1;
        }

        await using var running = simulator;
        foreach (var fault in faults)
        {
            fault(simulator.Faults);
        }

        using var done = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            done.Cancel();
        }

        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        Console.WriteLine($"LISTENING {simulator.Port.ToString(CultureInfo.InvariantCulture)}");
        Console.Out.Flush();
        try
        {
            await Task.Delay(Timeout.Infinite, done.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        return 0;
    }
}

internal static class Cli
{
    public const string Usage = """
        usage: simulator [options]
          --port N                       port on 127.0.0.1 (default 5099; 0 picks one)
          --api-key KEY                  accepted bearer key (repeatable; none: any non-empty key)
          --lifetime DURATION            WebSocket lifetime before websocket_connection_limit_reached (default 60m)
          --push-limit-when-idle         push the limit error to an idle socket when its lifetime ends
          --first-event-latency-ms N     delay before each response's first event (model time; alias --first-event-delay-ms)
          --event-latency-ms N           delay between events
          --requests-per-minute N        the organization's request budget, shared by all connections and HTTP calls (429 over it)
          --tokens-per-minute N          the organization's token budget (a request: its bytes / 4 + 16)
          --store-delay-ms N             extra delay of a previous_response_id loaded from the store (default 5)
          --sse-done                     end SSE streams with data: [DONE]
          --fragment-bytes N             send each WebSocket message as frames of at most N bytes
          --log                          console request logging
        faults (COUNT defaults to every request from now on):
          --refuse-upgrades STATUS[xCOUNT]         answer upgrades with STATUS (426, 429 with Retry-After: 1, 500, ...)
          --fail-posts STATUS[xCOUNT]              answer HTTP POSTs with STATUS (429/503 with Retry-After: 1)
          --close-after-events N[xCOUNT]           end each response's stream after N events
          --error CODE:STATUS[xCOUNT]              answer with an error (WS error frame / HTTP error reply)
          --fail-responses CODE[xCOUNT]            end responses with response.failed
          --malformed[xCOUNT]                      send a non-JSON frame after response.created (COUNT default 1)
          --oversized BYTES[xCOUNT]                send a delta frame of BYTES after response.created
          --stall MS[xCOUNT]                       send nothing for MS after response.created
          --sse-error CODE:N[xCOUNT]               over SSE, send a flat error event after N events and end
        durations: 90s, 250ms, 60m, 1h, or seconds
        """;

    public static (SimulatorOptions Options, IReadOnlyList<Action<SimulatorFaults>> Faults) Parse(string[] args)
    {
        var options = new SimulatorOptions { Port = 5099 };
        var keys = new List<string>();
        var faults = new List<Action<SimulatorFaults>>();
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
            int Int() => NonNegative(Value(), flag);

            switch (flag)
            {
                case "--port": options = options with { Port = Int() }; break;
                case "--api-key": keys.Add(Value()); break;
                case "--lifetime": options = options with { ConnectionLifetime = Duration(Value()) }; break;
                case "--first-event-latency-ms" or "--first-event-delay-ms": options = options with { FirstEventLatency = TimeSpan.FromMilliseconds(Int()) }; break;
                case "--event-latency-ms": options = options with { PerEventLatency = TimeSpan.FromMilliseconds(Int()) }; break;
                case "--requests-per-minute": options = options with { RequestsPerMinute = Int() }; break;
                case "--tokens-per-minute": options = options with { TokensPerMinute = Int() }; break;
                case "--store-delay-ms": options = options with { StoreLoadDelay = TimeSpan.FromMilliseconds(Int()) }; break;
                case "--sse-done": options = options with { SseDone = true }; break;
                case "--push-limit-when-idle": options = options with { PushLimitErrorWhenIdle = true }; break;
                case "--log": options = options with { ConsoleLogging = true }; break;
                case "--fragment-bytes":
                {
                    var bytes = Int();
                    faults.Add(f => f.FragmentBytes = bytes);
                    break;
                }

                case "--refuse-upgrades":
                {
                    var (status, count) = Counted(Value(), flag);
                    var fault = new HttpFault(NonNegative(status, flag), RetryAfter: RetryAfterFor(status));
                    faults.Add(f => f.RefuseUpgrades(fault, count));
                    break;
                }

                case "--fail-posts":
                {
                    var (status, count) = Counted(Value(), flag);
                    var fault = new HttpFault(NonNegative(status, flag), RetryAfter: RetryAfterFor(status));
                    faults.Add(f => f.FailHttpPosts(fault, count));
                    break;
                }

                case "--close-after-events":
                {
                    var (n, count) = Counted(Value(), flag);
                    var events = NonNegative(n, flag);
                    faults.Add(f => f.CloseAfterEvents(events, count));
                    break;
                }

                case "--error":
                {
                    var (spec, count) = Counted(Value(), flag);
                    var parts = spec.Split(':');
                    if (parts.Length != 2)
                    {
                        throw new ArgumentException("--error takes CODE:STATUS, e.g. rate_limit_exceeded:429");
                    }

                    var status = NonNegative(parts[1], flag);
                    faults.Add(f => f.SendError(status, parts[0], $"Injected {parts[0]}.", count));
                    break;
                }

                case "--fail-responses":
                {
                    var (code, count) = Counted(Value(), flag);
                    faults.Add(f => f.FailResponses(code, count));
                    break;
                }

                case "--oversized":
                {
                    var (bytes, count) = Counted(Value(), flag);
                    var size = NonNegative(bytes, flag);
                    faults.Add(f => f.SendOversizedFrame(size, count));
                    break;
                }

                case "--sse-error":
                {
                    var (spec, count) = Counted(Value(), flag);
                    var colon = spec.LastIndexOf(':');
                    if (colon <= 0)
                    {
                        throw new ArgumentException($"{flag} takes CODE:N, e.g. server_error:3; got '{spec}'");
                    }

                    var after = NonNegative(spec[(colon + 1)..], flag);
                    var errorCode = spec[..colon];
                    faults.Add(f => f.SendSseError(after, errorCode, "The server had an error while processing your request.", count));
                    break;
                }

                case "--stall":
                {
                    var (ms, count) = Counted(Value(), flag);
                    var stall = TimeSpan.FromMilliseconds(NonNegative(ms, flag));
                    faults.Add(f => f.Stall(stall, count));
                    break;
                }

                default:
                    if (flag.StartsWith("--malformed", StringComparison.Ordinal))
                    {
                        var count = flag == "--malformed" ? 1 : Counted("0" + flag["--malformed".Length..], flag).Count;
                        faults.Add(f => f.SendMalformedFrame(count));
                        break;
                    }

                    throw new ArgumentException($"unknown option '{flag}'");
            }
        }

        return (options with { ApiKeys = keys }, faults);
    }

    private static TimeSpan? RetryAfterFor(string status) => status is "429" or "503" ? TimeSpan.FromSeconds(1) : null;

    /// <summary>"VALUExCOUNT" or "VALUE" (every request from now on).</summary>
    private static (string Value, int Count) Counted(string spec, string flag)
    {
        var x = spec.LastIndexOf('x');
        return x < 0 ? (spec, int.MaxValue) : (spec[..x], Math.Max(1, NonNegative(spec[(x + 1)..], flag)));
    }

    private static int NonNegative(string s, string flag) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : throw new ArgumentException($"{flag} needs a non-negative whole number, got '{s}'");

    /// <summary>"90s", "250ms", "60m", "1h", or a number of seconds.</summary>
    private static TimeSpan Duration(string s)
    {
        static double N(string v) => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
        try
        {
            return s.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(N(s[..^2]))
                : s.EndsWith('s') ? TimeSpan.FromSeconds(N(s[..^1]))
                : s.EndsWith('m') ? TimeSpan.FromMinutes(N(s[..^1]))
                : s.EndsWith('h') ? TimeSpan.FromHours(N(s[..^1]))
                : TimeSpan.FromSeconds(N(s));
        }
        catch (FormatException)
        {
            throw new ArgumentException($"'{s}' is not a duration (90s, 250ms, 60m, 1h)");
        }
    }
}
