using System.Data.Common;
using System.Text.Json;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// A response as its session's journal recorded it: the settings of its request, the whole input it answered, its output
/// items, and when its turn was written.
/// </summary>
/// <param name="Id">The response id.</param>
/// <param name="Session">The tenant's session (conversation) that produced it.</param>
/// <param name="Settings">The request's settings (model, instructions, tools, store, …) as the session recorded them.</param>
/// <param name="Input">Every item the response answered, oldest first.</param>
/// <param name="Output">Its output items.</param>
/// <param name="RecordedAt">When the turn was written to the journal (at its end).</param>
public sealed record RecordedResponse(
    string Id,
    string Session,
    JsonElement Settings,
    IReadOnlyList<JsonElement> Input,
    IReadOnlyList<JsonElement> Output,
    DateTimeOffset RecordedAt);

public sealed partial class RecordStore
{
    /// <summary>
    /// The response <paramref name="responseId"/> of <paramref name="tenant"/> read back from the journal of the session
    /// that produced it (its turns applied in order up to the one that recorded it); null when no session of the tenant
    /// recorded it, or its session has been forgotten.
    /// </summary>
    /// <exception cref="DbException">The database cannot be read.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The records are encrypted and cannot be opened with the configured key.</exception>
    public async Task<RecordedResponse?> ReadResponseAsync(string tenant, string responseId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        if (await ResponseOwnerAsync(tenant, responseId, cancellationToken).ConfigureAwait(false) is not { } session)
        {
            return null;
        }

        var persistenceId = SessionPersistenceId(tenant, session);
        var tag = ";" + SessionJournal.ResponseTag(responseId) + ";"; // the plugin's CSV form of one tag
        var seal = new RecordSeal(settings.EncryptionKey, tenant);
        var record = new SessionRecord();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT message, manifest, tags, created FROM journal WHERE persistence_id = @p AND NOT deleted ORDER BY sequence_number";
        Add(command, "p", persistenceId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetString(1) != RecordSerializer.Turn)
            {
                continue; // the session's owner marker
            }

            record.Apply(TranscriptChange.FromJson(seal.Open((byte[])reader.GetValue(0), persistenceId)));
            if (!reader.IsDBNull(2) && reader.GetString(2) == tag && record.Transcript is { } turn && turn.ResponseId == responseId)
            {
                return new RecordedResponse(responseId, session, turn.Settings, turn.FullInput, [.. turn.Output.Select(o => o.Json)],
                    new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero));
            }
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="responseId"/> is the last response the journal of <paramref name="tenant"/>'s session
    /// <paramref name="session"/> recorded: the one the session continues from its transcript when it starts again.
    /// </summary>
    /// <exception cref="DbException">The database cannot be read.</exception>
    public async Task<bool> IsLatestResponseAsync(string tenant, string session, string responseId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tags FROM journal WHERE persistence_id = @p AND NOT deleted AND tags IS NOT NULL AND tags <> '' ORDER BY sequence_number DESC LIMIT 1";
        Add(command, "p", SessionPersistenceId(tenant, session));
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string tags
                && tags == ";" + SessionJournal.ResponseTag(responseId) + ";";
        }
        catch (DbException e) when (IsMissingTable(e))
        {
            return false;
        }
    }
}
