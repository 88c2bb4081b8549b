using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace Fantasy.Actors.Host;

/// <summary>
/// Cluster mode: a tenant's session ids, response ids and conversation ids, replicated to every gateway node (Akka.DistributedData,
/// one <see cref="ORSet{T}"/> of each per tenant), so that listing, reading and closing sessions and chaining from a
/// response id work whichever node a client calls — and a tenant still reaches only what is its own. Each node
/// writes what it adds or forgets to all nodes at once (best effort, then gossip) and mirrors the replicated sets
/// here for synchronous checks; what this node added is known here before it has replicated.
/// </summary>
internal sealed class ClusterTenantIndex
{
    /// <summary>The replicated session set of tenant <c>t</c> is the ORSet <c>{SessionsKeyPrefix}t</c> (<see cref="Fantasy.Actors.Cluster.SessionAdmission"/> reads it too).</summary>
    public const string SessionsKeyPrefix = "fantasy-sessions-";

    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(3);

    private readonly IActorRef replicator;
    private readonly UniqueAddress self;
    private readonly ORSetKey<string> sessionsKey;
    private readonly ORSetKey<string> responsesKey;
    private readonly ORSetKey<string> conversationsKey;
    private volatile HashSet<string> conversations = new(StringComparer.Ordinal);
    private volatile HashSet<string> sessions = new(StringComparer.Ordinal);
    private volatile HashSet<string> responses = new(StringComparer.Ordinal);

    public ClusterTenantIndex(ActorSystem system, string tenant)
    {
        ArgumentNullException.ThrowIfNull(system);
        var data = DistributedData.Get(system);
        replicator = data.Replicator;
        self = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress;
        sessionsKey = new ORSetKey<string>(SessionsKeyPrefix + tenant);
        responsesKey = new ORSetKey<string>("fantasy-responses-" + tenant);
        conversationsKey = new ORSetKey<string>("fantasy-conversations-" + tenant);
        system.ActorOf(Props.Create(() => new Mirror(this)), "fantasy-tenant-index-" + tenant);
    }

    /// <summary>Session ids any node added for the tenant (and has not removed).</summary>
    public IReadOnlySet<string> Sessions => sessions;

    public bool HasResponse(string responseId) => responses.Contains(responseId);

    public bool HasConversation(string conversationId) => conversations.Contains(conversationId);

    public void AddConversation(string id) => Write(conversationsKey, set => set.Add(self, id));

    public void RemoveConversation(string id) => Write(conversationsKey, set => set.Remove(self, id));

    public void AddSession(string id) => Write(sessionsKey, set => set.Add(self, id));

    public void RemoveSession(string id) => Write(sessionsKey, set => set.Remove(self, id));

    public void AddResponse(string id) => Write(responsesKey, set => set.Add(self, id));

    public void RemoveResponse(string id) => Write(responsesKey, set => set.Remove(self, id));

    private void Write(ORSetKey<string> key, Func<ORSet<string>, ORSet<string>> change) =>
        replicator.Tell(Dsl.Update(key, ORSet<string>.Empty, new WriteAll(WriteTimeout), change));

    /// <summary>Keeps the mirrors in step with the replicated sets.</summary>
    private sealed class Mirror : ReceiveActor
    {
        public Mirror(ClusterTenantIndex index)
        {
            Receive<Changed>(changed =>
            {
                if (changed.Key.Equals(index.sessionsKey))
                {
                    index.sessions = changed.Get(index.sessionsKey).Elements.ToHashSet(StringComparer.Ordinal);
                }
                else if (changed.Key.Equals(index.responsesKey))
                {
                    index.responses = changed.Get(index.responsesKey).Elements.ToHashSet(StringComparer.Ordinal);
                }
                else if (changed.Key.Equals(index.conversationsKey))
                {
                    index.conversations = changed.Get(index.conversationsKey).Elements.ToHashSet(StringComparer.Ordinal);
                }
            });

            // Acknowledgements of the writes (or their timeouts: gossip carries them later).
            Receive<IUpdateResponse>(_ => { });
            index.replicator.Tell(Dsl.Subscribe(index.sessionsKey, Self));
            index.replicator.Tell(Dsl.Subscribe(index.responsesKey, Self));
            index.replicator.Tell(Dsl.Subscribe(index.conversationsKey, Self));
        }
    }
}
