using System.Globalization;
using ScottPlot;

// Draws the benchmark charts of bench/RESULTS.md from the CSV files the bench scripts write:
//   bench/results/idle-memory.csv  → bench/results/idle-memory.png  (memory vs open idle sessions)
//   bench/results/turn-length.csv  → bench/results/turn-length.png  (CPU per turn vs conversation length)
//   bench/results/yardstick.csv    → bench/results/yardstick.png    (the yardstick: library, gateway and SDK by length)
// Usage: dotnet run --project bench/Fantasy.Actors.Charts [-- RESULTS_DIR]
var dir = args.Length > 0 ? args[0] : Path.Combine(FindRepoRoot(), "bench", "results");
var drawn = 0;

var memory = Path.Combine(dir, "idle-memory.csv");
if (File.Exists(memory))
{
    var rows = ReadCsv(memory);
    var plot = new Plot();
    var sessions = rows.Select(r => r["sessions"]).ToArray();
    var managed = plot.Add.Scatter(sessions, rows.Select(r => r["managed_kb_per_session"]).ToArray());
    managed.LegendText = "managed heap per session (KB)";
    var ws = plot.Add.Scatter(sessions, rows.Select(r => r["working_set_kb_per_session"]).ToArray());
    ws.LegendText = "process working set per session (KB)";
    var target = plot.Add.HorizontalLine(40);
    target.LegendText = "target: 40 KB managed";
    target.LinePattern = LinePattern.Dashed;
    plot.Title("Memory per open idle session");
    plot.XLabel("open idle sessions (each with its upstream socket)");
    plot.YLabel("KB per session");
    plot.Axes.SetLimitsY(0, Math.Max(50, rows.Max(r => r["working_set_kb_per_session"]) * 1.15));
    plot.ShowLegend(Alignment.LowerRight);
    Save(plot, Path.Combine(dir, "idle-memory.png"));
}

LengthChart("turn-length", "Client CPU per turn vs conversation length (median of runs)");
LengthChart("yardstick", "Steady CPU per turn: library, gateway, OpenAI .NET SDK over HTTP");

if (drawn == 0)
{
    Console.Error.WriteLine($"no idle-memory.csv, turn-length.csv or yardstick.csv in {dir}; run bench/idle-memory.sh, bench/turn-cost.sh or bench/yardstick.sh first");
    return 1;
}

return 0;

// CPU per turn by conversation length, one line per mode: <name>.csv (mode,turns,cpu_us_per_turn) → <name>.png.
void LengthChart(string name, string title)
{
    var path = Path.Combine(dir, name + ".csv");
    if (!File.Exists(path))
    {
        return;
    }

    var rows = ReadCsv(path, keyColumn: "mode");
    var plot = new Plot();
    foreach (var mode in rows.Select(r => r.Key).Distinct())
    {
        var series = rows.Where(r => r.Key == mode).OrderBy(r => r["turns"]).ToArray();
        var line = plot.Add.Scatter(series.Select(r => r["turns"]).ToArray(), series.Select(r => r["cpu_us_per_turn"]).ToArray());
        line.LegendText = mode;
    }

    plot.Title(title);
    plot.XLabel("turns per conversation");
    plot.YLabel("CPU per turn (µs)");
    plot.Axes.SetLimitsY(0, rows.Max(r => r["cpu_us_per_turn"]) * 1.15);
    plot.ShowLegend(Alignment.UpperLeft);
    Save(plot, Path.Combine(dir, name + ".png"));
}

void Save(Plot plot, string path)
{
    plot.SavePng(path, 900, 540);
    Console.WriteLine($"wrote {path}");
    drawn++;
}

static List<Row> ReadCsv(string path, string? keyColumn = null)
{
    var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
    var header = lines[0].Split(',');
    return lines.Skip(1).Select(line =>
    {
        var cells = line.Split(',');
        var values = new Dictionary<string, double>();
        string key = "";
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i] == keyColumn)
            {
                key = cells[i];
            }
            else
            {
                values[header[i]] = double.Parse(cells[i], CultureInfo.InvariantCulture);
            }
        }

        return new Row(key, values);
    }).ToList();
}

static string FindRepoRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        if (File.Exists(Path.Combine(d.FullName, "Fantasy.Actors.sln")))
        {
            return d.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}

internal sealed record Row(string Key, Dictionary<string, double> Values)
{
    public double this[string column] => Values[column];
}
