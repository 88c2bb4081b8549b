using Akka.Actor;
using Akka.Cluster.Sharding;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Sessions;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// Sessions as entities of a cluster shard region: each conversation (<c>{tenant}~{conversation}</c>) lives on exactly
/// one node, any node takes any turn. The entity is the same <see cref="SessionActor"/> as in local mode, started
/// with <see cref="SessionPassivation.Sharded"/>; its stop message (<see cref="SessionProtocol.StopSession"/>) lets
/// the running and queued turns end before the session moves.
/// </summary>
internal static class SessionSharding
{
    /// <summary>The shard region's type name, the same on every node.</summary>
    public const string TypeName = "fantasy-sessions";

    /// <summary>Starts this node's region, hosting sessions when the node has <paramref name="role"/> (or any node, for none).</summary>
    public static IActorRef StartRegion(ActorSystem system, SessionEnvironment env, int shards, string? role, string typeName = TypeName)
    {
        var sharding = ClusterSharding.Get(system);
        var settings = ClusterShardingSettings.Create(system).WithRole(string.IsNullOrEmpty(role) ? null : role).WithRememberEntities(false);
        var sharded = env with { Passivation = SessionPassivation.Sharded };
        return sharding.Start(
            typeName,
            entityId => SessionActor.Props(KeyOf(entityId), sharded),
            settings,
            new Extractor(shards),
            sharding.DefaultShardAllocationStrategy(settings),
            SessionProtocol.StopSession.Instance);
    }

    /// <summary>A region proxy for a node that hosts no sessions (a gateway-only node): it routes to the nodes with <paramref name="role"/>.</summary>
    public static IActorRef StartProxy(ActorSystem system, int shards, string? role, string typeName = TypeName) =>
        // Akka takes a null role as "every node" (its parameter is not annotated).
        ClusterSharding.Get(system).StartProxy(typeName, string.IsNullOrEmpty(role) ? null! : role, new Extractor(shards));

    /// <summary>The entity id is the session id; it is made of the tenant and the conversation joined by '~', which neither may contain.</summary>
    public static SessionKey KeyOf(string entityId)
    {
        var split = entityId.IndexOf('~', StringComparison.Ordinal);
        return new SessionKey(entityId[..split], entityId[(split + 1)..]);
    }

    /// <summary>
    /// Routes every <see cref="IWithSessionId"/> message on its session id, unchanged, and shards by a hash of the id
    /// that is the same in every process (FNV-1a over its UTF-8 bytes; <see cref="string.GetHashCode()"/> is randomised
    /// per process and would send one session to different shards from different nodes).
    /// </summary>
    internal sealed class Extractor(int shards) : IMessageExtractor
    {
        public string? EntityId(object message) => message is IWithSessionId routed ? routed.Key.SessionId : null;

        public object EntityMessage(object message) => message;

        public string? ShardId(object message) => EntityId(message) is { } id ? ShardId(id) : null;

        public string ShardId(string entityId, object? messageHint = null) => StableShard(entityId, shards);
    }

    /// <summary>The shard of <paramref name="entityId"/> among <paramref name="shards"/>: FNV-1a over its UTF-8 bytes, the same in every process.</summary>
    internal static string StableShard(string entityId, int shards)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(entityId))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (hash % (uint)shards).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
