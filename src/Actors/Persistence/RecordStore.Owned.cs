using System.Data.Common;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// The gateway's durable record of ids a tenant owns beyond its sessions' records: conversations created through it
/// (Conversations API) and responses it deleted (so a restart does not make a deleted response reachable again). One
/// row per tenant and id in <c>fantasy_owned</c>, made on first use.
/// </summary>
public sealed partial class RecordStore
{
    /// <summary>A conversation (Conversations API) created by the tenant.</summary>
    public const string OwnedConversation = "conversation";

    /// <summary>A response of the tenant that was deleted: no longer its to read or chain from.</summary>
    public const string DeletedResponse = "deleted-response";

    private bool ownedTable;

    /// <summary>Records that <paramref name="id"/> is the tenant's, of <paramref name="kind"/> (replacing what was recorded).</summary>
    public async Task RecordOwnedAsync(string tenant, string id, string kind, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureOwnedTableAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO fantasy_owned (tenant, id, kind, at) VALUES (@t, @i, @k, @a) ON CONFLICT (tenant, id) DO UPDATE SET kind = excluded.kind, at = excluded.at";
        Add(command, "t", tenant);
        Add(command, "i", id);
        Add(command, "k", kind);
        Add(command, "a", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the tenant's <paramref name="id"/> was recorded as, or null when nothing was.</summary>
    public async Task<string?> OwnedKindAsync(string tenant, string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureOwnedTableAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT kind FROM fantasy_owned WHERE tenant = @t AND id = @i";
        Add(command, "t", tenant);
        Add(command, "i", id);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>Forgets the tenant's <paramref name="id"/> (a conversation deleted).</summary>
    public async Task ForgetOwnedAsync(string tenant, string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureOwnedTableAsync(connection, cancellationToken).ConfigureAwait(false);
        await DeleteAsync(connection, null, "DELETE FROM fantasy_owned WHERE tenant = @t AND id = @i", [("t", tenant), ("i", id)], cancellationToken).ConfigureAwait(false);
    }

    private async Task PurgeDeletedAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await DeleteAsync(connection, null, "DELETE FROM fantasy_owned WHERE kind = @k AND at < @cutoff",
            [("k", DeletedResponse), ("cutoff", cutoff.ToUnixTimeMilliseconds())], cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureOwnedTableAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref ownedTable))
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE IF NOT EXISTS fantasy_owned (tenant VARCHAR(255) NOT NULL, id VARCHAR(255) NOT NULL, kind VARCHAR(32) NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (tenant, id))";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref ownedTable, true);
    }
}
