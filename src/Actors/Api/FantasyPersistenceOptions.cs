using Fantasy.Actors.Configuration;
using Microsoft.Extensions.Configuration;

namespace Fantasy.Actors.Api;

/// <summary>
/// Where sessions keep their conversations (<c>Fantasy:Persistence</c>, over <c>fantasy.persistence</c>): the
/// database, its connection string, and what turns meet while it is unavailable. Unset values keep the HOCON ones.
/// </summary>
public sealed class FantasyPersistenceOptions
{
    /// <summary><see cref="PersistenceProvider.Sqlite"/>, <see cref="PersistenceProvider.PostgreSql"/> or <see cref="PersistenceProvider.None"/>.</summary>
    public PersistenceProvider? Provider { get; set; }

    /// <summary><c>Data Source=data/fantasy.db</c> (SQLite) or <c>Host=…;Port=5432;Database=…;Username=…;Password=…</c> (PostgreSQL).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Refuse new turns (default) or run them in memory while the journal is unavailable.</summary>
    public PersistenceFailureMode? OnFailure { get; set; }

    /// <summary>Conversations with no turn for this long are purged (zero: kept); default 30 days.</summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>Base64 256-bit key: recorded items are encrypted at rest (AES-GCM, per-tenant keys).</summary>
    public string? EncryptionKey { get; set; }

    /// <summary>How long a completed turn's terminal waits for its record; default 5 s.</summary>
    public TimeSpan? WriteTimeout { get; set; }

    /// <summary>Reads <c>Provider</c>, <c>ConnectionString</c>, <c>OnFailure</c>, <c>Retention</c>, <c>EncryptionKey</c>, <c>WriteTimeout</c>; null when the section is empty.</summary>
    public static FantasyPersistenceOptions? FromConfiguration(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (!section.GetChildren().Any())
        {
            return null;
        }

        return new FantasyPersistenceOptions
        {
            Provider = Text(section["Provider"]) is { } provider ? PersistenceSettings.ParseProvider(provider) : null,
            ConnectionString = Text(section["ConnectionString"]),
            OnFailure = Text(section["OnFailure"]) is { } mode ? PersistenceSettings.ParseFailureMode(mode) : null,
            Retention = Text(section["Retention"]) is { } retention ? TimeSpan.Parse(retention, System.Globalization.CultureInfo.InvariantCulture) : null,
            EncryptionKey = Text(section["EncryptionKey"]),
            WriteTimeout = Text(section["WriteTimeout"]) is { } timeout ? TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture) : null,
        };
    }

    internal IEnumerable<string> HoconLines()
    {
        if (Provider is { } provider)
        {
            yield return $"fantasy.persistence.provider = {provider.ToString().ToLowerInvariant()}";
        }

        if (ConnectionString is not null)
        {
            yield return $"fantasy.persistence.connection-string = {PersistenceSettings.Quote(ConnectionString)}";
        }

        if (OnFailure is { } mode)
        {
            yield return $"fantasy.persistence.on-failure = {(mode == PersistenceFailureMode.InMemory ? "in-memory" : "refuse")}";
        }

        if (Retention is { } retention)
        {
            yield return $"fantasy.persistence.retention = {(long)retention.TotalMilliseconds}ms";
        }

        if (EncryptionKey is not null)
        {
            yield return $"fantasy.persistence.encryption-key = {PersistenceSettings.Quote(EncryptionKey)}";
        }

        if (WriteTimeout is { } timeout)
        {
            yield return $"fantasy.persistence.write-timeout = {(long)timeout.TotalMilliseconds}ms";
        }
    }

    private static string? Text(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
