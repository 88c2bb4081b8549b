using System.Globalization;
using Fantasy.Actors.Soak;

// Soak: S sessions × T turns through the gateway against the simulator, with upstream faults injected at
// random, clients disconnecting mid-stream, and every turn classified. Exits 1 if any turn hung, had two
// terminals or none, was replayed after its first event, or was answered with a wrong context.
//   dotnet run -c Release --project bench/Fantasy.Actors.Soak -- [--sessions 1000] [--turns 20]
//       [--fault-every-ms 50] [--lifetime-ms 500] [--disconnect-share 0.03] [--seed 13]
//       [--persistence Sqlite|PostgreSql|None] [--connection-string CS]   (default: a new SQLite file, deleted after)
var options = new SoakOptions
{
    Sessions = int.Parse(Arg("--sessions", "1000"), CultureInfo.InvariantCulture),
    Turns = int.Parse(Arg("--turns", "20"), CultureInfo.InvariantCulture),
    FaultEvery = TimeSpan.FromMilliseconds(double.Parse(Arg("--fault-every-ms", "50"), CultureInfo.InvariantCulture)),
    ConnectionLifetime = TimeSpan.FromMilliseconds(double.Parse(Arg("--lifetime-ms", "500"), CultureInfo.InvariantCulture)),
    DisconnectShare = double.Parse(Arg("--disconnect-share", "0.03"), CultureInfo.InvariantCulture),
    Seed = int.Parse(Arg("--seed", "13"), CultureInfo.InvariantCulture),
    Persistence = Arg("--persistence", "Sqlite"),
    ConnectionString = args.Contains("--connection-string") ? Arg("--connection-string", string.Empty) : null,
};
Console.WriteLine($"soak: conversations on {options.Persistence}; {options.Sessions} sessions × {options.Turns} turns, a fault every {options.FaultEvery.TotalMilliseconds} ms, upstream sockets live {options.ConnectionLifetime.TotalMilliseconds} ms, {options.DisconnectShare:P0} of streamed turns disconnect after their first event");
var report = await SoakRun.RunAsync(options, Console.Out);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"done in {report.Elapsed.TotalSeconds:F0} s: {report.Attempts} attempts; {report}; faults injected {report.FaultsInjected}; peak RSS {report.PeakWorkingSetBytes / 1048576} MB"));
foreach (var (detail, count) in report.Failures.OrderByDescending(f => f.Value).Take(15))
{
    Console.WriteLine($"  {count,7} × {detail}");
}

Console.WriteLine(report.Clean ? "CLEAN: 0 hung, 0 two terminals, 0 without terminal, 0 replayed after a first event, 0 wrong context" : "NOT CLEAN");
return report.Clean ? 0 : 1;

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
