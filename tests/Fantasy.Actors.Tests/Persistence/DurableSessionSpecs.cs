using System.Text;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;
using Fantasy.Actors.Testing;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>
/// Conversations that survive their process: sessions on a real SQLite file and a real PostgreSQL server, a
/// "restart" being a new actor system over the same database. The simulator's request log shows what context
/// went upstream.
/// </summary>
public sealed class DurableSessionSpecs : IAsyncLifetime
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "fantasy-durable-" + Guid.NewGuid().ToString("N")[..10]);
    private ResponsesSimulator sim = null!;

    private string SqliteFile => Path.Combine(dir, "data", "fantasy.db");

    private string Sqlite => $"Data Source={SqliteFile}";

    public async Task InitializeAsync()
    {
        sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 64 });
    }

    public async Task DisposeAsync()
    {
        await sim.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(dir) && Environment.GetEnvironmentVariable("KEEP_DB") is null)
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public Task A_conversation_chained_by_id_continues_with_its_whole_context_after_a_restart_on_sqlite() =>
        ChainedAcrossRestart("sqlite", Sqlite);

    [SkippableFact]
    public async Task A_conversation_chained_by_id_continues_with_its_whole_context_after_a_restart_on_postgresql()
    {
        var missing = PostgresServer.Find().Missing;
        Skip.If(missing is not null, missing);
        await using var pg = await PostgresServer.StartAsync();
        await ChainedAcrossRestart("postgresql", pg.ConnectionString);
    }

    private async Task ChainedAcrossRestart(string provider, string connectionString)
    {
        var key = new SessionKey("acme", "chat-1");
        TurnEnd first, second;
        await using (var before = DurableService.Start(sim, provider, connectionString))
        {
            first = await before.TurnAsync(key, Request(User("alpha")));
            second = await before.TurnAsync(key, Request(User("bravo")), first.ResponseId);
            Assert.Equal(TurnOutcome.Completed, second.Outcome);
            Assert.True(second.Chained);
        }

        await using var after = DurableService.Start(sim, provider, connectionString);
        var third = await after.TurnAsync(key, Request(User("charlie")), second.ResponseId);

        Assert.Equal(TurnOutcome.Completed, third.Outcome);
        var sent = Sent.Last(sim);
        Assert.Null(Sent.PreviousId(sent)); // the whole conversation, once, on a fresh socket
        var texts = Sent.Texts(sent);
        Assert.Equal(3 + first.Result.Output.Count + second.Result.Output.Count, texts.Count);
        Assert.Equal("alpha", texts[0]);
        Assert.Equal("bravo", texts[1 + first.Result.Output.Count]);
        Assert.Equal("charlie", texts[^1]);
        Assert.Equal(first.Result.Text, texts[1]);
        Assert.Equal(second.Result.Text, texts[^2]);

        // Then it chains again: only the new item goes out.
        var fourth = await after.TurnAsync(key, Request(User("delta")), third.ResponseId);
        Assert.Equal(TurnOutcome.Completed, fourth.Outcome);
        Assert.True(fourth.Chained);
        Assert.Equal(third.ResponseId, Sent.PreviousId(Sent.Last(sim)));
        Assert.Equal(["delta"], Sent.Texts(Sent.Last(sim)));
    }

    [Fact]
    public async Task A_caller_that_resends_its_whole_history_chains_again_after_one_full_send_following_a_restart()
    {
        var key = new SessionKey("acme", "history");
        var history = new List<System.Text.Json.JsonElement> { User("one") };
        await using (var before = DurableService.Start(sim, "sqlite", Sqlite))
        {
            var a = await before.TurnAsync(key, Request([.. history]));
            history.AddRange(a.Result.Output.Select(o => o.Json));
            history.Add(User("two"));
            var b = await before.TurnAsync(key, Request([.. history]));
            Assert.True(b.Chained);
            history.AddRange(b.Result.Output.Select(o => o.Json));
        }

        await using var after = DurableService.Start(sim, "sqlite", Sqlite);
        history.Add(User("three"));
        var c = await after.TurnAsync(key, Request([.. history]));
        Assert.False(c.Chained);
        Assert.Equal(history.Count, Sent.Texts(Sent.Last(sim)).Count);

        history.AddRange(c.Result.Output.Select(o => o.Json));
        history.Add(User("four"));
        var d = await after.TurnAsync(key, Request([.. history]));
        Assert.True(d.Chained);
        Assert.Equal(["four"], Sent.Texts(Sent.Last(sim)));
    }

    [Fact]
    public async Task The_status_of_a_recovered_session_counts_its_recorded_turns()
    {
        var key = new SessionKey("acme", "counted");
        await using (var before = DurableService.Start(sim, "sqlite", Sqlite))
        {
            var a = await before.TurnAsync(key, Request(User("x")));
            await before.TurnAsync(key, Request(User("y")), a.ResponseId);
        }

        await using var after = DurableService.Start(sim, "sqlite", Sqlite);
        var a2 = await after.TurnAsync(new SessionKey("acme", "other"), Request(User("z")));
        Assert.Equal(TurnOutcome.Completed, a2.Outcome);
        var c = await after.TurnAsync(key, Request(User("w")));
        Assert.Equal(TurnOutcome.Completed, c.Outcome);
        var status = await after.Sessions.GetStatusAsync(key);
        Assert.Equal(3, status!.Turns);
    }

    [Fact]
    public async Task The_terminal_reaches_the_caller_after_the_turn_is_written_and_a_long_conversation_recovers_from_its_snapshot_and_the_events_after_it()
    {
        var key = new SessionKey("acme", "long");
        string? last = null;
        await using (var before = DurableService.Start(sim, "sqlite", Sqlite, "fantasy.persistence.snapshot-every = 5"))
        {
            for (var i = 0; i < 12; i++)
            {
                var events = await before.EventsAsync(key, Request(User($"turn {i}")), last);
                var finished = Assert.IsType<TurnFinished>(events[^1]);
                Assert.Equal(TurnOutcome.Completed, finished.End.Outcome);

                // response.completed came, and came last before the terminal: it was held until the record was written.
                var completed = Assert.IsType<TurnUpstreamEvent>(events[^2]);
                Assert.Equal(EventTypes.Completed, completed.Event.Type);
                last = finished.End.ResponseId;
            }
        }

        await using (var check = new Microsoft.Data.Sqlite.SqliteConnection(Sqlite))
        {
            // One snapshot is kept (after turn 10); then the events it covers are removed here, so the recovery below can
            // only come from the snapshot and the two events after it.
            await check.OpenAsync();
            await using var sql = check.CreateCommand();
            sql.CommandText = "SELECT COUNT(*), MAX(sequence_number) FROM snapshot WHERE persistence_id = 'fantasy-session|acme|long'";

            // The snapshot is saved (and the one before it deleted) after the event it follows, not before that turn's terminal: wait for it (bounded).
            var (count, newest) = (0L, 0L);
            for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); (newest < 10 || count != 1) && DateTime.UtcNow < deadline; await Task.Delay(20))
            {
                await using var reader = await sql.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                (count, newest) = (reader.GetInt64(0), reader.IsDBNull(1) ? 0 : reader.GetInt64(1));
            }

            Assert.Equal(10L, newest);
            Assert.Equal(1L, count);

            sql.CommandText = "DELETE FROM journal WHERE persistence_id = 'fantasy-session|acme|long' AND sequence_number <= 10";
            Assert.Equal(10, await sql.ExecuteNonQueryAsync());
        }

        await using var after = DurableService.Start(sim, "sqlite", Sqlite);
        var next = await after.TurnAsync(key, Request(User("after")), last);
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        var texts = Sent.Texts(Sent.Last(sim));
        Assert.Equal("turn 0", texts[0]);
        Assert.Equal("after", texts[^1]);
        Assert.Equal(12, texts.Count(t => t.StartsWith("turn ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Closing_with_forget_deletes_every_byte_of_the_conversation_from_the_sqlite_file()
    {
        var key = new SessionKey("acme", "private");
        const string Marker = "MARKER-7f3c9a-private-words";
        await using (var service = DurableService.Start(sim, "sqlite", Sqlite, "fantasy.persistence.snapshot-every = 2"))
        {
            string? last = null;
            for (var i = 0; i < 5; i++)
            {
                last = (await service.TurnAsync(key, Request(User($"{Marker} {i}")), last)).ResponseId;
            }

            var keep = await service.TurnAsync(new SessionKey("acme", "kept"), Request(User("KEPT-CONVERSATION")));
            Assert.Equal(TurnOutcome.Completed, keep.Outcome);
            Assert.True(FileContains(Marker), "the marker is in the file before the forget (the check can fail)");

            Assert.True(await service.Sessions.CloseAsync(key, forget: true));

            // While the service runs (its connections open, the file in write-ahead-log mode): gone from the file and its log.
            Assert.False(FileContains(Marker), "the forgotten conversation's text is still in the SQLite file or its log");
        }

        Assert.False(FileContains(Marker), "the forgotten conversation's text is still in the SQLite file");
        Assert.True(FileContains("KEPT-CONVERSATION"), "another conversation was deleted too");

        // And it is a new conversation afterwards: nothing of it is recovered.
        await using var after = DurableService.Start(sim, "sqlite", Sqlite);
        var fresh = await after.TurnAsync(key, Request(User("again")));
        Assert.Equal(["again"], Sent.Texts(Sent.Last(sim)));
        Assert.Equal(TurnOutcome.Completed, fresh.Outcome);
    }

    [SkippableFact]
    public async Task Closing_with_forget_deletes_the_conversation_from_the_postgresql_tables()
    {
        var missing = PostgresServer.Find().Missing;
        Skip.If(missing is not null, missing);
        await using var pg = await PostgresServer.StartAsync();
        const string Marker = "PG-MARKER-93b1";
        var key = new SessionKey("acme", "pg-private");
        await using var service = DurableService.Start(sim, "postgresql", pg.ConnectionString, "fantasy.persistence.snapshot-every = 2");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await service.TurnAsync(key, Request(User($"{Marker} {i}")), ids.LastOrDefault())).ResponseId!);
        }

        var last = ids[^1];

        // Each response read back from the journal as it answered: its whole context, its output (past a snapshot too).
        var records = service.Sessions.Records!;
        var third = await records.ReadResponseAsync("acme", last);
        Assert.NotNull(third);
        Assert.Equal("pg-private", third.Session);
        Assert.Equal([$"{Marker} 0", "ok: 1", $"{Marker} 1", "ok: 3", $"{Marker} 2"], third.Input.Select(Sent.TextOf));
        Assert.Equal(["ok: 5"], third.Output.Select(Sent.TextOf));
        Assert.Equal([$"{Marker} 0"], (await records.ReadResponseAsync("acme", ids[0]))!.Input.Select(Sent.TextOf));
        Assert.Null(await records.ReadResponseAsync("globex", last));

        // The session's latest response is known without reading its journal through.
        Assert.True(await records.IsLatestResponseAsync("acme", "pg-private", last));
        Assert.False(await records.IsLatestResponseAsync("acme", "pg-private", ids[1]));
        Assert.False(await records.IsLatestResponseAsync("acme", "another", last));
        Assert.False(await records.IsLatestResponseAsync("globex", "pg-private", last));

        Assert.True(await RowsWithAsync(pg.ConnectionString, Marker) > 0, "the marker is in the tables before the forget (the check can fail)");
        Assert.True(await service.Sessions.CloseAsync(key, forget: true));
        Assert.Equal(0, await RowsWithAsync(pg.ConnectionString, Marker));
        Assert.Null(await service.Sessions.Records!.ResponseOwnerAsync("acme", last));
        Assert.Null(await records.ReadResponseAsync("acme", last));
    }

    /// <summary>Journal and snapshot rows whose bytes contain <paramref name="marker"/>.</summary>
    private static async Task<long> RowsWithAsync(string connectionString, string marker)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand(
            "select (select count(*) from journal where position(@m in message) > 0) + (select count(*) from snapshot where position(@m in snapshot) > 0)", connection);
        count.Parameters.AddWithValue("m", System.Text.Encoding.UTF8.GetBytes(marker));
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_conversation_past_its_retention_is_purged_from_the_file_and_a_recent_one_is_kept()
    {
        const string Old = "RETENTION-OLD-5c2e";
        var retention = """
            fantasy.persistence.retention = 2s
            fantasy.persistence.purge-every = 200ms
            fantasy.session.idle-close-after = 500ms
            fantasy.session.session-idle-timeout = 1s
            """;
        await using var service = DurableService.Start(sim, "sqlite", Sqlite, retention);
        await service.TurnAsync(new SessionKey("acme", "old"), Request(User(Old)));
        Assert.True(FileContains(Old));

        await UntilAsync(() => !FileContains(Old), () => "the conversation past its retention is still in the file");

        const string Recent = "RETENTION-RECENT-77d0";
        await service.TurnAsync(new SessionKey("acme", "recent"), Request(User(Recent)));
        Assert.True(FileContains(Recent), "a conversation within its retention was purged");

        // The purged conversation starts anew.
        await service.TurnAsync(new SessionKey("acme", "old"), Request(User("again")));
        Assert.Equal(["again"], Sent.Texts(Sent.Last(sim)));
    }

    [Fact]
    public async Task A_session_that_is_not_running_is_found_and_forgotten()
    {
        var key = new SessionKey("acme", "stopped");
        await using (var before = DurableService.Start(sim, "sqlite", Sqlite))
        {
            await before.TurnAsync(key, Request(User("FORGET-WHILE-STOPPED")));
        }

        await using var after = DurableService.Start(sim, "sqlite", Sqlite);
        Assert.True(await after.Sessions.CloseAsync(key, forget: true));
        Assert.False(await after.Sessions.CloseAsync(new SessionKey("acme", "never-was"), forget: true));
        Assert.False(FileContains("FORGET-WHILE-STOPPED"));
    }

    [Fact]
    public async Task With_an_encryption_key_no_item_text_reaches_the_file_and_the_conversation_still_recovers()
    {
        var key = new SessionKey("acme", "sealed");
        var secret = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var keyed = $"fantasy.persistence.encryption-key = \"{secret}\"";
        const string Marker = "ENCRYPTED-MARKER-51ab";
        string? last;
        await using (var before = DurableService.Start(sim, "sqlite", Sqlite, keyed))
        {
            last = (await before.TurnAsync(key, Request(User(Marker)))).ResponseId;
        }

        Assert.False(FileContains(Marker), "the item's text is in the file despite the encryption key");

        await using (var wrongKey = DurableService.Start(sim, "sqlite", Sqlite))
        {
            // Without the key the records cannot be read: the turn is refused, nothing is sent without its context.
            var refused = await wrongKey.TurnAsync(key, Request(User("no key")), last);
            Assert.Equal(TurnOutcome.Rejected, refused.Outcome);
            Assert.Equal(Rejection.PersistenceUnavailable, refused.Rejection);
        }

        await using var after = DurableService.Start(sim, "sqlite", Sqlite, keyed);
        Assert.Equal([Marker], (await after.Sessions.Records!.ReadResponseAsync("acme", last!))!.Input.Select(Sent.TextOf)); // opened with the key
        var next = await after.TurnAsync(key, Request(User("next")), last);
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        Assert.Equal(Marker, Sent.Texts(Sent.Last(sim))[0]);
    }

    [Fact]
    public async Task A_response_id_is_found_as_its_tenants_and_sessions_after_a_restart_and_as_no_one_elses()
    {
        string id;
        await using (var before = DurableService.Start(sim, "sqlite", Sqlite))
        {
            id = (await before.TurnAsync(new SessionKey("acme", "owner"), Request(User("x")))).ResponseId!;
        }

        await using var after = DurableService.Start(sim, "sqlite", Sqlite);
        var records = after.Sessions.Records!;
        Assert.Equal("owner", await records.ResponseOwnerAsync("acme", id));
        Assert.Null(await records.ResponseOwnerAsync("globex", id));
        Assert.Null(await records.ResponseOwnerAsync("acme", "resp_never_issued"));

        Assert.True(await after.Sessions.CloseAsync(new SessionKey("acme", "owner"), forget: true));
        Assert.Null(await records.ResponseOwnerAsync("acme", id)); // forgotten with the conversation
    }

    [Fact]
    public void A_response_tag_fits_the_journal_for_ids_of_any_length()
    {
        Assert.Equal("r:resp_1", Fantasy.Actors.Persistence.SessionJournal.ResponseTag("resp_1"));
        var longId = "resp_" + new string('a', 200);
        var tag = Fantasy.Actors.Persistence.SessionJournal.ResponseTag(longId);
        Assert.True(tag.Length <= 64, tag);
        Assert.StartsWith("r#", tag, StringComparison.Ordinal);
        Assert.NotEqual(tag, Fantasy.Actors.Persistence.SessionJournal.ResponseTag(longId + "b"));
    }

    private bool FileContains(string marker)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var needle = Encoding.UTF8.GetBytes(marker);
        return Directory.GetFiles(Path.GetDirectoryName(SqliteFile)!).Any(f => Bytes(f).AsSpan().IndexOf(needle) >= 0);
    }

    /// <summary>A file's bytes; none for a file gone since it was listed (SQLite removes its log and index files when its last connection closes).</summary>
    private static byte[] Bytes(string file)
    {
        try
        {
            return File.ReadAllBytes(file);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }
}
