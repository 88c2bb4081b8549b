using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Persistence;
using PersistenceSettings = Fantasy.Actors.Configuration.PersistenceSettings;
using Fantasy.Actors.Persistence;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// --mode journal: the journal plugin alone, without sessions — C persistent actors each persisting T records of about
/// the size of a turn's (the service's record type and serializer, its plugin configuration), one at a time as a
/// session does. Prints CPU and wall time per record: the floor of what persistence adds to a turn.
/// </summary>
internal static class JournalLoad
{
    public static async Task<int> RunAsync(int actors, int records, DurableLoad durable, int bytes = 450)
    {
        using var system = durable.System("journal-load", "akka.loglevel = WARNING\n" + (Environment.GetEnvironmentVariable("JOURNAL_HOCON") ?? string.Empty));
        var payload = new byte[bytes];
        Random.Shared.NextBytes(payload);

        // Warm-up: the plugin's first writes (schema, connections, JIT).
        var warm = int.Parse(Environment.GetEnvironmentVariable("WARM_RECORDS") ?? "20", CultureInfo.InvariantCulture);
        await RunRoundAsync(system, "warm", Math.Min(actors, 16), warm, payload);
        using var sampler = Environment.GetEnvironmentVariable("ALLOC") is null ? null : new AllocationSampler();
        sampler?.Start();
        using var jit = Environment.GetEnvironmentVariable("JITLOG") is null ? null : new JitLog();
        jit?.Recording = true;
        var jittedBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var clock = Stopwatch.StartNew();
        await RunRoundAsync(system, "run", actors, records, payload);
        clock.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var total = actors * records;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"journal {durable.Provider}: {actors} actors × {records} records of {bytes} bytes, one at a time each: cpu {cpu.TotalMilliseconds * 1000 / total:F0} us per record, " +
            $"{total / clock.Elapsed.TotalSeconds:F0} records/s, allocated {(GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore) / (double)total / 1024:F1} KB per record, " +
            $"{(System.Runtime.JitInfo.GetCompiledMethodCount() - jittedBefore) / (double)total:F1} methods compiled per record"));
        jit?.Print(25);
        sampler?.Stop();
        foreach (var line in sampler?.Top(25, actors * records) ?? [])
        {
            Console.WriteLine(line);
        }

        // The process at rest afterwards: what the plugin costs with nothing to write.
        var idleBefore = Process.GetCurrentProcess().TotalProcessorTime;
        await Task.Delay(TimeSpan.FromSeconds(3));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"idle for 3 s afterwards: cpu {(Process.GetCurrentProcess().TotalProcessorTime - idleBefore).TotalMilliseconds:F0} ms"));
        await system.Terminate();
        return 0;
    }

    /// <summary>The floor under the plugin: one-row transactions straight through Microsoft.Data.Sqlite, one at a time.</summary>
    public static async Task<int> RawSqliteAsync(string connectionString, int records)
    {
        await using var c = new Microsoft.Data.Sqlite.SqliteConnection(connectionString);
        await c.OpenAsync();
        await using (var create = c.CreateCommand())
        {
            create.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, pid TEXT, seq INTEGER, payload BLOB)";
            await create.ExecuteNonQueryAsync();
        }

        var payload = new byte[450];
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < records; i++)
        {
            await using var tx = await c.BeginTransactionAsync();
            await using var insert = c.CreateCommand();
            insert.Transaction = (Microsoft.Data.Sqlite.SqliteTransaction)tx;
            insert.CommandText = "INSERT INTO raw (pid, seq, payload) VALUES ($p, $s, $b)";
            insert.Parameters.AddWithValue("$p", "bench|raw");
            insert.Parameters.AddWithValue("$s", i);
            insert.Parameters.AddWithValue("$b", payload);
            await insert.ExecuteNonQueryAsync();
            await tx.CommitAsync();
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"raw sqlite: {records} one-row transactions: cpu {cpu.TotalMilliseconds * 1000 / records:F0} us, wall {clock.Elapsed.TotalMilliseconds * 1000 / records:F0} us per transaction"));
        return 0;
    }

    private static async Task RunRoundAsync(ActorSystem system, string prefix, int actors, int records, byte[] payload)
    {
        var done = Enumerable.Range(0, actors).Select(a =>
        {
            var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(() => new Writer($"bench|{prefix}|{a}|{Guid.NewGuid():N}", records, payload, finished)));
            return finished.Task;
        }).ToArray();
        await Task.WhenAll(done).WaitAsync(TimeSpan.FromMinutes(5));
    }

    private sealed class Writer : ReceivePersistentActor
    {
        private readonly int records;
        private readonly byte[] payload;
        private readonly TaskCompletionSource finished;
        private int written;

        public Writer(string id, int records, byte[] payload, TaskCompletionSource finished)
        {
            PersistenceId = id;
            this.records = records;
            this.payload = payload;
            this.finished = finished;
            JournalPluginId = PersistenceSettings.JournalPluginId;
            SnapshotPluginId = PersistenceSettings.SnapshotPluginId;
            Recover<RecordedTurn>(_ => { });
            Command<string>(_ => Persist(new RecordedTurn(payload), _ =>
            {
                if (++written == this.records)
                {
                    this.finished.TrySetResult();
                    Context.Stop(Self);
                }
                else
                {
                    Self.Tell("next");
                }
            }));
        }

        public override string PersistenceId { get; }

        protected override void OnReplaySuccess()
        {
            base.OnReplaySuccess();
            Self.Tell("next");
        }
    }
}
