using System.Globalization;
using System.Runtime.InteropServices;
using Fantasy.Actors.Simulator;

// The standalone simulator:
//   dotnet run --project src/Simulator -- --port 5099 [--api-key KEY]... [--lifetime 3600s]
//     [--first-event-latency-ms N] [--event-latency-ms N] [--store-delay-ms N] [--sse-done]
//     [--push-limit-when-idle] [--refuse-upgrades STATUS[xCOUNT]] [--log]
// Prints "LISTENING <port>" when ready; counters at GET /_stats; Ctrl+C stops it.
SimulatorOptions options;
(int Status, int Count)? refuse;
try
{
    (options, refuse) = Cli.Parse(args);
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
if (refuse is { } r)
{
    simulator.Faults.RefuseUpgrades(new HttpFault(r.Status, RetryAfter: r.Status == 429 ? TimeSpan.FromSeconds(1) : null), r.Count);
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

internal static class Cli
{
    public const string Usage =
        "usage: simulator [--port N] [--api-key KEY]... [--lifetime DURATION] [--first-event-latency-ms N] " +
        "[--event-latency-ms N] [--store-delay-ms N] [--sse-done] [--push-limit-when-idle] [--refuse-upgrades STATUS[xCOUNT]] [--log]";

    public static (SimulatorOptions Options, (int, int)? Refuse) Parse(string[] args)
    {
        var options = new SimulatorOptions { Port = 5099 };
        var keys = new List<string>();
        (int, int)? refuse = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v
                : throw new ArgumentException($"{args[i]} needs a non-negative whole number");

            switch (args[i])
            {
                case "--port": options = options with { Port = Int() }; break;
                case "--api-key": keys.Add(Value()); break;
                case "--lifetime": options = options with { ConnectionLifetime = Duration(Value()) }; break;
                case "--first-event-latency-ms": options = options with { FirstEventLatency = TimeSpan.FromMilliseconds(Int()) }; break;
                case "--event-latency-ms": options = options with { PerEventLatency = TimeSpan.FromMilliseconds(Int()) }; break;
                case "--store-delay-ms": options = options with { StoreLoadDelay = TimeSpan.FromMilliseconds(Int()) }; break;
                case "--sse-done": options = options with { SseDone = true }; break;
                case "--push-limit-when-idle": options = options with { PushLimitErrorWhenIdle = true }; break;
                case "--log": options = options with { ConsoleLogging = true }; break;
                case "--refuse-upgrades":
                    var spec = Value().Split('x');
                    refuse = (int.Parse(spec[0], CultureInfo.InvariantCulture), spec.Length > 1 ? int.Parse(spec[1], CultureInfo.InvariantCulture) : int.MaxValue);
                    break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        return (options with { ApiKeys = keys }, refuse);
    }

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
