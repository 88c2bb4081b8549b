using System.Globalization;
using Akka.Configuration;

namespace Fantasy.Actors.Configuration;

/// <summary>Where sessions keep what they need to continue a conversation (<c>fantasy.persistence</c>).</summary>
public enum PersistenceProvider
{
    /// <summary>In memory only: a conversation ends with its process.</summary>
    None,

    /// <summary>A SQLite file (one process).</summary>
    Sqlite,

    /// <summary>PostgreSQL: the production choice, and the one for cluster mode (every node on one database).</summary>
    PostgreSql,
}

/// <summary>What a session does while its journal cannot be written or read (<c>fantasy.persistence.on-failure</c>).</summary>
public enum PersistenceFailureMode
{
    /// <summary>New turns are rejected (<see cref="Contract.Rejection.PersistenceUnavailable"/>) until the journal answers again.</summary>
    Refuse,

    /// <summary>Turns run without being durable; a warning is logged once a minute and a metric counts them.</summary>
    InMemory,
}

/// <summary>The <c>fantasy.persistence</c> settings: the journal's database and how sessions use it.</summary>
/// <param name="Provider">The database; <see cref="PersistenceProvider.None"/> keeps sessions in memory.</param>
/// <param name="ConnectionString">The ADO.NET connection string (<c>Data Source=…</c> for SQLite, <c>Host=…;Database=…</c> for PostgreSQL).</param>
/// <param name="OnFailure">What new turns meet while the journal is unavailable.</param>
/// <param name="WriteTimeout">How long a completed turn's terminal waits for its record to be written.</param>
/// <param name="RecoveryTimeout">How long a session waits for its state to be read when it starts.</param>
/// <param name="SnapshotEvery">A snapshot of the transcript after this many recorded turns (recovery reads at most this many events).</param>
/// <param name="Retention">A conversation with no turn for this long is purged; zero keeps conversations for good.</param>
/// <param name="EncryptionKey">A 256-bit key: when set, recorded items are encrypted (AES-GCM, a key derived per tenant).</param>
/// <param name="ProbeInterval">While the journal is unavailable, how often one session tries it again.</param>
public sealed record PersistenceSettings(
    PersistenceProvider Provider,
    string ConnectionString,
    PersistenceFailureMode OnFailure,
    TimeSpan WriteTimeout,
    TimeSpan RecoveryTimeout,
    int SnapshotEvery,
    TimeSpan Retention,
    ReadOnlyMemory<byte> EncryptionKey,
    TimeSpan ProbeInterval)
{
    /// <summary>The journal plugin sessions use (its own id, so an application's other persistent actors keep theirs).</summary>
    public const string JournalPluginId = "akka.persistence.journal.fantasy";

    /// <summary>The snapshot store sessions use.</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.fantasy";

    /// <summary>Sessions in memory (the library's default).</summary>
    public static PersistenceSettings None { get; } = new(
        PersistenceProvider.None, string.Empty, PersistenceFailureMode.Refuse, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 50,
        TimeSpan.FromDays(30), ReadOnlyMemory<byte>.Empty, TimeSpan.FromSeconds(2));

    /// <summary>How often the retention purge runs (<c>fantasy.persistence.purge-every</c>).</summary>
    public TimeSpan PurgeEvery { get; init; } = TimeSpan.FromHours(1);

    public bool Enabled => Provider != PersistenceProvider.None;

    public bool Encrypted => !EncryptionKey.IsEmpty;

    /// <summary>The linq2db provider name of <see cref="Provider"/>.</summary>
    public string ProviderName => Provider switch
    {
        PersistenceProvider.Sqlite => "SQLite.MS",
        PersistenceProvider.PostgreSql => "PostgreSQL.15",
        _ => string.Empty,
    };

    /// <summary>Parses a provider's name as configuration gives it (<c>Sqlite</c>, <c>PostgreSql</c>, <c>postgres</c>, <c>None</c>; any case).</summary>
    public static PersistenceProvider ParseProvider(string? text) => (text ?? string.Empty).Trim().ToLowerInvariant() switch
    {
        "" or "none" or "memory" or "in-memory" => PersistenceProvider.None,
        "sqlite" => PersistenceProvider.Sqlite,
        "postgresql" or "postgres" or "pg" => PersistenceProvider.PostgreSql,
        _ => throw new ConfigurationException($"fantasy.persistence.provider must be none, sqlite or postgresql, was '{text}'"),
    };

    /// <summary>Parses <c>Refuse</c> or <c>InMemory</c> (any case, dashes allowed).</summary>
    public static PersistenceFailureMode ParseFailureMode(string? text) => (text ?? string.Empty).Trim().Replace("-", string.Empty, StringComparison.Ordinal).ToLowerInvariant() switch
    {
        "" or "refuse" => PersistenceFailureMode.Refuse,
        "inmemory" => PersistenceFailureMode.InMemory,
        _ => throw new ConfigurationException($"fantasy.persistence.on-failure must be refuse or in-memory, was '{text}'"),
    };

    /// <summary>Reads a base64 256-bit key; empty stays empty.</summary>
    public static ReadOnlyMemory<byte> ParseKey(string? base64)
    {
        if (string.IsNullOrWhiteSpace(base64))
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new ConfigurationException("fantasy.persistence.encryption-key must be base64 (32 bytes: e.g. `openssl rand -base64 32`)");
        }

        return key.Length == 32
            ? key
            : throw new ConfigurationException($"fantasy.persistence.encryption-key must be 32 bytes (256 bits), was {key.Length}");
    }

    /// <summary>
    /// The Akka.Persistence configuration these settings stand for: the SQL plugin (Akka.Persistence.Sql) under the
    /// service's own plugin ids, schema created on first use. Empty when <see cref="Provider"/> is <see cref="PersistenceProvider.None"/>.
    /// </summary>
    public Config ToAkkaConfig()
    {
        if (!Enabled)
        {
            return Config.Empty;
        }

        // SQLite has one writer at a time: one write stream batching every session's records into each transaction,
        // rather than several contending for the file's lock.
        var parallelism = Provider == PersistenceProvider.Sqlite ? 1 : 3;
        return ConfigurationFactory.ParseString(
            Plugin(JournalPluginId, "Akka.Persistence.Sql.Journal.SqlWriteJournal", $"""
                parallelism = {parallelism}
                # A record's one tag (its response id) in the journal row itself: the plugin's fast single-insert path,
                # where a tag table costs a second statement per record.
                tag-write-mode = Csv
                """)
            + Plugin(SnapshotPluginId, "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore", string.Empty));
    }

    /// <summary>One of the SQL plugin's two parts (journal, snapshot store) under <paramref name="id"/>.</summary>
    private string Plugin(string id, string className, string extra) => $$"""
        {{id}} {
          class = "{{className}}, Akka.Persistence.Sql"
          plugin-dispatcher = "akka.persistence.dispatchers.default-plugin-dispatcher"
          plugin-id = "{{id}}"
          connection-string = {{Quote(ConnectionString)}}
          provider-name = "{{ProviderName}}"
          table-mapping = default
          auto-initialize = on
          circuit-breaker { max-failures = 5, call-timeout = {{Seconds(WriteTimeout)}}, reset-timeout = {{Seconds(ProbeInterval)}} }
          {{extra}}
        }

        """;

    private static string Seconds(TimeSpan t) => t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";

    /// <summary>A HOCON string literal of <paramref name="s"/>.</summary>
    internal static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
