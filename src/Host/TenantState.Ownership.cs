using System.Collections.Concurrent;
using Fantasy.Actors.Persistence;

namespace Fantasy.Actors.Host;

/// <summary>What a tenant owns: the response ids it produced (and deleted), its conversations, and its archived responses.</summary>
internal sealed partial class TenantState
{
    public bool Owns(string responseId) => !deleted.ContainsKey(responseId) && (responseIds.ContainsKey(responseId) || Cluster?.HasResponse(responseId) == true);

    /// <summary>The responses this tenant's turns produced through this node, answered by the gateway (<c>/v1/responses/{id}</c>).</summary>
    public ResponseArchive Archive { get; init; } = new(1000);

    /// <summary>Cluster mode: the actor system, to ask the other gateway nodes for the responses they keep.</summary>
    public Akka.Actor.ActorSystem? ClusterSystem { get; init; }

    /// <summary>
    /// The kept response <paramref name="id"/>: this node's, or — in cluster mode, for a response the tenant owns — the
    /// answer of the node that keeps it, which has done <paramref name="action"/> on it; with persistence, a
    /// <c>store:false</c> response no node keeps is read back from its session's journal — unless it is the latest response
    /// of <paramref name="unlessLatestOf"/> (a session continues its own latest from its transcript: one row is read).
    /// </summary>
    /// <exception cref="System.Data.Common.DbException">The conversation store cannot be read (<see cref="CannotRead"/>).</exception>
    public async Task<(ArchivedResponse? Here, ArchiveAnswer? Elsewhere)> FindKeptAsync(string id, ArchiveAction action, CancellationToken cancellationToken, string? unlessLatestOf = null)
    {
        if (Archive.Get(id) is { } here)
        {
            return (here, null);
        }

        if ((ClusterSystem is null && Records is null) || await OwnsAsync(id, cancellationToken).ConfigureAwait(false) != true)
        {
            return (null, null);
        }

        if (ClusterSystem is not null && await ArchivePeers.AskAsync(ClusterSystem, new ArchiveAsk(Options.Name, id, action), cancellationToken).ConfigureAwait(false) is { } elsewhere)
        {
            return (null, elsewhere);
        }

        // Kept by no node (a restart, an eviction): a store:false response is read back from its session's journal; a
        // stored one is the upstream's to answer, whole.
        return Records is not null
            && (unlessLatestOf is null || !await Records.IsLatestResponseAsync(Options.Name, unlessLatestOf, id, cancellationToken).ConfigureAwait(false))
            && await Records.ReadResponseAsync(Options.Name, id, cancellationToken).ConfigureAwait(false) is { } recorded && !RecordedResponses.Stored(recorded)
            ? (RecordedResponses.ToResponse(recorded), null)
            : (null, null);
    }

    /// <summary>What reading the conversation store can throw when it is unavailable, or its records cannot be opened.</summary>
    public static bool CannotRead(Exception e) =>
        e is System.Data.Common.DbException or System.Security.Cryptography.CryptographicException or TimeoutException;

    /// <summary>Where requests passed through go for this tenant, with which key; null when the gateway passes nothing through.</summary>
    public UpstreamTarget? Upstream { get; init; }

    private readonly ConcurrentDictionary<string, byte> deleted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> conversationIds = new(StringComparer.Ordinal);

    /// <summary>
    /// Forgets a deleted response: it is no longer this tenant's to read or chain from — here, in the replicated index,
    /// and, with persistence, after a restart (recorded as deleted before this completes).
    /// </summary>
    public async Task ForgetAsync(string responseId, CancellationToken cancellationToken)
    {
        deleted[responseId] = 0;
        responseIds.TryRemove(responseId, out _);
        Cluster?.RemoveResponse(responseId);
        Archive.Remove(responseId);
        if (Records is not null)
        {
            await Records.RecordOwnedAsync(Options.Name, responseId, RecordStore.DeletedResponse, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether a conversation (Conversations API) was created through this tenant: in memory, the cluster's replicated
    /// index, or the durable record (after a restart, or on a node that never saw it); null when that cannot be read.
    /// </summary>
    public async Task<bool?> OwnsConversationAsync(string conversationId, CancellationToken cancellationToken)
    {
        if (conversationIds.ContainsKey(conversationId) || Cluster?.HasConversation(conversationId) == true)
        {
            return true;
        }

        if (Records is null)
        {
            return false;
        }

        try
        {
            if (await Records.OwnedKindAsync(Options.Name, conversationId, cancellationToken).ConfigureAwait(false) != RecordStore.OwnedConversation)
            {
                return false;
            }
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            return null;
        }

        conversationIds.TryAdd(conversationId, 0);
        return true;
    }

    /// <summary>A conversation created through this tenant: its from now on (recorded durably before this completes, with persistence).</summary>
    public async Task RememberConversationAsync(string conversationId, CancellationToken cancellationToken)
    {
        if (conversationIds.TryAdd(conversationId, 0))
        {
            Cluster?.AddConversation(conversationId);
        }

        if (Records is not null)
        {
            await Records.RecordOwnedAsync(Options.Name, conversationId, RecordStore.OwnedConversation, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ForgetConversationAsync(string conversationId, CancellationToken cancellationToken)
    {
        conversationIds.TryRemove(conversationId, out _);
        Cluster?.RemoveConversation(conversationId);
        if (Records is not null)
        {
            await Records.ForgetOwnedAsync(Options.Name, conversationId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The conversation store (persistence on): response ids this tenant produced in any earlier process, on any node.</summary>
    public RecordStore? Records { get; init; }

    /// <summary>
    /// Whether the tenant produced <paramref name="responseId"/>: in this process's memory, the cluster's replicated
    /// index, or the durable index (after a restart, or on a node that never saw it); null when the durable index
    /// cannot be read.
    /// </summary>
    public async Task<bool?> OwnsAsync(string responseId, CancellationToken cancellationToken)
    {
        if (Owns(responseId))
        {
            return true;
        }

        if (Records is null || deleted.ContainsKey(responseId))
        {
            return false;
        }

        try
        {
            if (await Records.OwnedKindAsync(Options.Name, responseId, cancellationToken).ConfigureAwait(false) == RecordStore.DeletedResponse)
            {
                deleted[responseId] = 0;
                return false;
            }

            if (await Records.ResponseOwnerAsync(Options.Name, responseId, cancellationToken).ConfigureAwait(false) is null)
            {
                return false;
            }
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            return null;
        }

        Remember(responseId);
        return true;
    }
}
