using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// The persistence side of the load driver: the HOCON of <c>--persistence none|sqlite|postgresql</c> with
/// <c>--connection-string</c>, the journal's own timings (what a completed turn's terminal waited for its record,
/// what a starting session took to read its conversation) from the service's metrics, and the journal's size.
/// </summary>
internal sealed class DurableLoad : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly List<double> writes = [];
    private readonly List<double> recoveries = [];

    public DurableLoad(string provider, string connectionString)
    {
        Provider = provider;
        ConnectionString = connectionString;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FantasyMetrics.MeterName && instrument.Name is "fantasy.persistence.write.duration" or "fantasy.persistence.recovery.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            var into = instrument.Name == "fantasy.persistence.write.duration" ? writes : recoveries;
            lock (into)
            {
                into.Add(value * 1000);
            }
        });
        listener.Start();
    }

    public string Provider { get; }

    public string ConnectionString { get; }

    public bool Enabled => Provider != "none";

    public string Hocon => Enabled
        ? $"fantasy.persistence.provider = {Provider}\nfantasy.persistence.connection-string = \"{ConnectionString}\""
        : string.Empty;

    /// <summary>An actor system with the fantasy config over <paramref name="hocon"/> and, when on, the journal plugin.</summary>
    public ActorSystem System(string name, string hocon)
    {
        var config = ConfigurationFactory.ParseString(hocon + "\n" + Hocon).WithFallback(FantasySettings.DefaultConfig);
        return ActorSystem.Create(name, FantasySettings.WithPlugins(config));
    }

    public void ClearTimings()
    {
        lock (writes)
        {
            writes.Clear();
        }

        lock (recoveries)
        {
            recoveries.Clear();
        }
    }

    public string WriteTimings() => Percentiles("the terminal waited for its record", writes);

    public string RecoveryTimings() => Percentiles("a starting session read its conversation in", recoveries);

    /// <summary>The journal's and snapshots' bytes in the database now.</summary>
    public async Task<long> SizeAsync()
    {
        if (Provider == "sqlite")
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(ConnectionString).DataSource;
            await using var c = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA page_size";
            var pageSize = (long)(await cmd.ExecuteScalarAsync())!;
            cmd.CommandText = "PRAGMA page_count";
            var pages = (long)(await cmd.ExecuteScalarAsync())!;
            cmd.CommandText = "PRAGMA freelist_count";
            var free = (long)(await cmd.ExecuteScalarAsync())!;
            return (pages - free) * pageSize;
        }

        await using var pg = new Npgsql.NpgsqlConnection(ConnectionString);
        await pg.OpenAsync();
        await using var size = new Npgsql.NpgsqlCommand("select pg_total_relation_size('journal') + pg_total_relation_size('snapshot')", pg);
        return (long)(await size.ExecuteScalarAsync())!;
    }

    /// <summary>The payload bytes of the records themselves (events and snapshots), without the database's pages and indexes.</summary>
    public async Task<(long Events, long EventBytes, long Snapshots, long SnapshotBytes)> RecordsAsync()
    {
        System.Data.Common.DbConnection c = Provider == "sqlite"
            ? new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString)
            : new Npgsql.NpgsqlConnection(ConnectionString);
        await using (c)
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "select count(*), coalesce(sum(length(message)), 0) from journal";
            long events, eventBytes;
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                await r.ReadAsync();
                (events, eventBytes) = (Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture));
            }

            cmd.CommandText = "select count(*), coalesce(sum(length(snapshot)), 0) from snapshot";
            await using var s = await cmd.ExecuteReaderAsync();
            await s.ReadAsync();
            return (events, eventBytes, Convert.ToInt64(s.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(s.GetValue(1), CultureInfo.InvariantCulture));
        }
    }

    private static string Percentiles(string what, List<double> values)
    {
        double[] sorted;
        lock (values)
        {
            sorted = [.. values.Order()];
        }

        if (sorted.Length == 0)
        {
            return $"{what}: no measurements";
        }

        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
        return string.Create(CultureInfo.InvariantCulture, $"{what} ms: p50 {P(0.5):F2}, p90 {P(0.9):F2}, p99 {P(0.99):F2}, max {sorted[^1]:F2} ({sorted.Length} measurements)");
    }

    public void Dispose() => listener.Dispose();

    /// <summary>
    /// --mode recovery: C conversations of T tool-loop turns (the caller chaining itself) on one service; then a new
    /// service over the same database (a restart) takes each conversation's next turn. Prints what each recovery took
    /// (the session's own timing) and each first turn's latency after the restart, beside a new conversation's.
    /// </summary>
    public static async Task<int> RecoveryAsync(Uri url, string key, int conversations, int turns, DurableLoad durable)
    {
        var hocon = $"akka.loglevel = WARNING\nfantasy.upstream.websocket-url = \"{url}\"";
        var last = new string?[conversations];
        using (var before = durable.System("recovery-before", hocon))
        {
            var api = new ResponsesSessions(before, new UpstreamCredentials(key));
            await Task.WhenAll(Enumerable.Range(0, conversations).Select(c => Task.Run(async () =>
            {
                for (var t = 0; t < turns; t++)
                {
                    var end = await api.RunTurnToEndAsync(new SessionKey("recovery", $"c{c}"), Turn(t), new TurnOptions { PreviousResponseId = last[c] });
                    last[c] = end.Outcome == TurnOutcome.Completed ? end.ResponseId : throw new InvalidOperationException($"{end.Outcome} {end.Reason}");
                }
            })));
            await before.Terminate();
        }

        var (events, eventBytes, snapshots, snapshotBytes) = await durable.RecordsAsync();
        var database = await durable.SizeAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{conversations} conversations × {turns} turns recorded: {events} event rows ({eventBytes / 1024.0:F0} KB), {snapshots} snapshots ({snapshotBytes / 1024.0:F0} KB); database {database / 1024.0:F0} KB"));

        durable.ClearTimings();
        using var after = durable.System("recovery-after", hocon);
        var api2 = new ResponsesSessions(after, new UpstreamCredentials(key));

        // A new conversation's first turn first: the process's own first-use costs (JIT, the socket handler) land there.
        _ = await api2.RunTurnToEndAsync(new SessionKey("recovery", "warm"), Turn(0));
        var fresh = new List<double>();
        var recovered = new List<double>();
        for (var c = 0; c < conversations; c++)
        {
            var clock = Stopwatch.StartNew();
            var n = await api2.RunTurnToEndAsync(new SessionKey("recovery", $"new{c}"), Turn(0));
            fresh.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            var end = await api2.RunTurnToEndAsync(new SessionKey("recovery", $"c{c}"), Turn(turns), new TurnOptions { PreviousResponseId = last[c] });
            recovered.Add(clock.Elapsed.TotalMilliseconds);
            if (end.Outcome != TurnOutcome.Completed || n.Outcome != TurnOutcome.Completed || end.Chained)
            {
                Console.Error.WriteLine($"c{c}: {end.Outcome} {end.Reason} chained={end.Chained}");
                return 1;
            }
        }

        Console.WriteLine(durable.RecoveryTimings());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"first turn after the restart ms: recovered conversation p50 {Median(recovered):F2} (max {recovered.Max():F2}); a new conversation p50 {Median(fresh):F2} (max {fresh.Max():F2})"));
        await after.Terminate();
        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static ResponseRequest Turn(int t) => new()
    {
        Model = "load",
        Instructions = "be brief",
        Store = false,
        Input = [JsonDocument.Parse($$"""{"type":"message","role":"user","content":"turn {{t}}: a message of some length, as a user would write it, asking about item {{t}}"}""").RootElement],
    };
}
