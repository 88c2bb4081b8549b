using System.Data.Common;
using Fantasy.Actors.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// The journal's database seen directly, for what the Akka.Persistence plugin does not do: deleting a conversation
/// for good (the plugin keeps the last event of a deleted stream, payload included, as a marker; SQLite also keeps
/// deleted bytes in free pages unless told to overwrite them — every delete here runs with
/// <c>PRAGMA secure_delete = ON</c>), purging conversations past their retention, checking the database is there, and
/// reading the durable response-id index (the tags of the sessions' records: which tenant and session a response id
/// belongs to). Tables are the plugin's <c>journal</c>, <c>snapshot</c> and <c>tags</c> (its default mapping).
/// </summary>
public sealed partial class RecordStore
{
    /// <summary>Persistence ids of sessions start with this.</summary>
    internal const string SessionPrefix = "fantasy-session|";

    private readonly PersistenceSettings settings;
    private bool tagIndex;

    public RecordStore(PersistenceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.Enabled)
        {
            throw new ArgumentException("a record store needs a database (fantasy.persistence.provider)", nameof(settings));
        }

        this.settings = settings;
        if (settings.Provider == PersistenceProvider.Sqlite)
        {
            EnsureSqliteDirectory(settings.ConnectionString);
            UseWriteAheadLog(settings.ConnectionString);
        }
    }

    /// <summary>
    /// Puts a SQLite file in write-ahead-log mode (a setting of the file, kept): a commit appends to the log instead of
    /// rewriting pages through a rollback journal, and readers (a session reading its records) do not wait for writers.
    /// </summary>
    private static void UseWriteAheadLog(string connectionString)
    {
        try
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL";
            command.ExecuteScalar();
        }
        catch (SqliteException)
        {
            // The file cannot be opened now: the plugin reports that when it is used; the mode is set at the next start.
        }
    }

    public PersistenceProvider Provider => settings.Provider;

    /// <summary>Creates the directory of a SQLite file if it is missing (the file and its tables are created on first use).</summary>
    public static void EnsureSqliteDirectory(string connectionString)
    {
        var file = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(file) || file == ":memory:" || file.StartsWith("file:", StringComparison.Ordinal))
        {
            return;
        }

        if (Path.GetDirectoryName(Path.GetFullPath(file)) is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
        }
    }

    /// <summary>One round trip to the database: null when it answered, else why not.</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException)
        {
            return e.Message;
        }
    }

    /// <summary>Whether the session has any record (an event or a snapshot): one indexed lookup, no plugin round trip.</summary>
    public async Task<bool> HasRecordsAsync(string tenant, string sessionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM journal WHERE persistence_id = @p UNION ALL SELECT 1 FROM snapshot WHERE persistence_id = @p LIMIT 1";
        Add(command, "p", SessionPersistenceId(tenant, sessionId));
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        }
        catch (DbException e) when (IsMissingTable(e))
        {
            return false; // no table yet: nothing was ever recorded
        }
    }

    /// <summary>Deletes every event, snapshot and response id of a session; true when it had any.</summary>
    public async Task<bool> ForgetAsync(string tenant, string sessionId, CancellationToken cancellationToken = default)
    {
        var persistenceId = SessionPersistenceId(tenant, sessionId);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var rows = 0;
        rows += await DeleteAsync(connection, tx, "DELETE FROM journal WHERE persistence_id = @p", ("p", persistenceId), cancellationToken).ConfigureAwait(false);
        rows += await DeleteAsync(connection, tx, "DELETE FROM snapshot WHERE persistence_id = @p", ("p", persistenceId), cancellationToken).ConfigureAwait(false);
        await DeleteAsync(connection, tx, "DELETE FROM tags WHERE persistence_id = @p", ("p", persistenceId), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (connection is SqliteConnection)
        {
            // The write-ahead log still holds the pages as they were before the delete: copy the log into the file and
            // empty it, so the deleted text is in neither (best effort: a reader in the middle of a read defers it).
            await using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            await checkpoint.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return rows > 0;
    }

    /// <summary>Forgets every session with no turn since <paramref name="cutoff"/>, and deletions of responses recorded before it; how many sessions.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        // Deletions recorded before the cutoff: the response ids they hide have been purged with their sessions.
        await PurgeDeletedAsync(cutoff, cancellationToken).ConfigureAwait(false);
        var stale = new List<string>();
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT persistence_id FROM journal WHERE persistence_id LIKE @prefix GROUP BY persistence_id HAVING MAX(created) < @cutoff";
            Add(command, "prefix", SessionPrefix + "%");
            Add(command, "cutoff", cutoff.UtcTicks);
            try
            {
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    stale.Add(reader.GetString(0));
                }
            }
            catch (DbException e) when (IsMissingTable(e))
            {
                return 0;
            }
        }

        foreach (var id in stale)
        {
            var parts = id.Split('|');
            await ForgetAsync(parts[1], parts[2], cancellationToken).ConfigureAwait(false);
        }

        return stale.Count;
    }

    /// <summary>
    /// The conversation of <paramref name="tenant"/> that produced <paramref name="responseId"/>, or null when no session of
    /// the tenant did: the tag its turn's record carries (<see cref="SessionJournal.ResponseTag"/>), in the plugin's tag table.
    /// </summary>
    public async Task<string?> ResponseOwnerAsync(string tenant, string responseId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTagIndexAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT persistence_id FROM journal WHERE tags = @t AND persistence_id LIKE @prefix LIMIT 1";
        Add(command, "t", ";" + SessionJournal.ResponseTag(responseId) + ";"); // the plugin's CSV form of one tag
        Add(command, "prefix", SessionPrefix + tenant + "|%");
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string id ? id[(SessionPrefix.Length + tenant.Length + 1)..] : null;
        }
        catch (DbException e) when (IsMissingTable(e))
        {
            return null;
        }
    }

    /// <summary>
    /// The index that makes a response id's lookup one probe (the journal's <c>tags</c> column holds the record's one tag);
    /// made once the plugin has created the journal table.
    /// </summary>
    private async Task EnsureTagIndexAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref tagIndex))
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE INDEX IF NOT EXISTS fantasy_journal_tags ON journal (tags)";
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref tagIndex, true);
        }
        catch (DbException e) when (IsMissingTable(e))
        {
            // No journal yet: nothing to find, and the index is made at a later lookup.
        }
    }

    internal static string SessionPersistenceId(string tenant, string sessionId) => $"{SessionPrefix}{tenant}|{sessionId}";

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = settings.Provider == PersistenceProvider.Sqlite
            ? new SqliteConnection(settings.ConnectionString)
            : new NpgsqlConnection(settings.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (settings.Provider == PersistenceProvider.Sqlite)
            {
                await using var pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA secure_delete = ON; PRAGMA busy_timeout = 5000;";
                await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<int> DeleteAsync(DbConnection connection, DbTransaction? tx, string sql, (string Name, object Value) p1, CancellationToken cancellationToken) =>
        await DeleteAsync(connection, tx, sql, [p1], cancellationToken).ConfigureAwait(false);

    private static async Task<int> DeleteAsync(DbConnection connection, DbTransaction? tx, string sql, (string Name, object Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Add(command, name, value);
        }

        // A table the plugin has not created yet holds nothing to delete. PostgreSQL aborts the transaction on any
        // error, so the statement runs behind a savepoint there.
        var savepoint = tx is not null && connection is NpgsqlConnection;
        if (savepoint)
        {
            await tx!.SaveAsync("fantasy_delete", cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var n = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (savepoint)
            {
                await tx!.ReleaseAsync("fantasy_delete", cancellationToken).ConfigureAwait(false);
            }

            return n;
        }
        catch (DbException e) when (IsMissingTable(e))
        {
            if (savepoint)
            {
                await tx!.RollbackAsync("fantasy_delete", cancellationToken).ConfigureAwait(false);
            }

            return 0;
        }
    }

    private static bool IsMissingTable(DbException e) =>
        e.Message.Contains("no such table", StringComparison.OrdinalIgnoreCase) // SQLite
        || (e is PostgresException { SqlState: "42P01" }); // undefined_table

    private static void Add(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = "@" + name;
        p.Value = value;
        command.Parameters.Add(p);
    }
}
