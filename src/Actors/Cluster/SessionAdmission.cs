using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.DistributedData;
using Akka.Event;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// A per-tenant session limit that holds across nodes: each tenant's new sessions are admitted by one entity of a
/// shard region (<see cref="TypeName"/>), so checking the count and adding a session are one step cluster-wide. The
/// entity's set is the tenant's replicated session set (a DistributedData <see cref="ORSet{T}"/> under
/// <c>{keyPrefix}{tenant}</c>): it reads it from a majority of nodes when it starts, adds an admitted session to it
/// with a majority write before it answers, and forgets a released one. So an entity that moves (rebalance, a lost
/// node) starts again from every admission a majority has seen.
/// </summary>
public static class SessionAdmission
{
    /// <summary>The shard region's type name, the same on every node.</summary>
    public const string TypeName = "fantasy-session-admission";

    private static readonly TimeSpan Consistency = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Starts this node's admission region (every node that calls it hosts admission entities). <paramref name="keyPrefix"/>
    /// names the tenants' replicated session sets (<c>{keyPrefix}{tenant}</c>).
    /// </summary>
    public static IActorRef Start(ActorSystem system, string keyPrefix)
    {
        ArgumentNullException.ThrowIfNull(system);
        var sharding = ClusterSharding.Get(system);
        var settings = ClusterShardingSettings.Create(system).WithRememberEntities(false);
        return sharding.Start(
            TypeName,
            tenant => Props.Create(() => new Entity(keyPrefix + tenant)),
            settings,
            new Extractor(),
            sharding.DefaultShardAllocationStrategy(settings),
            PoisonPill.Instance);
    }

    /// <summary>Asks the tenant's entity to admit <paramref name="sessionId"/> under <paramref name="max"/> sessions.</summary>
    public static async Task<bool> AdmitAsync(IActorRef region, string tenant, string sessionId, int max, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(region);
        var answer = await region.Ask<Admitted>(new Admit(tenant, sessionId, max), timeout, cancellationToken).ConfigureAwait(false);
        return answer.Ok;
    }

    /// <summary>
    /// Tells the tenant's entity that <paramref name="sessionId"/> is gone (closed, or stopped on its own); its place is
    /// free once the entity has it, which the returned task waits for (an admission asked after it sees the place).
    /// </summary>
    public static async Task ReleaseAsync(IActorRef region, string tenant, string sessionId, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(region);
        await region.Ask<Admitted>(new Released(tenant, sessionId), timeout).ConfigureAwait(false);
    }

    /// <summary>Admit a new session of the tenant, unless it already has <see cref="Max"/>.</summary>
    internal sealed record Admit(string Tenant, string SessionId, int Max) : IClusterMessage;

    internal sealed record Admitted(bool Ok, int Count) : IClusterMessage;

    internal sealed record Released(string Tenant, string SessionId) : IClusterMessage;

    /// <summary>One entity per tenant, all in a handful of shards (tenants are few).</summary>
    internal sealed class Extractor : HashCodeMessageExtractor
    {
        public Extractor()
            : base(16)
        {
        }

        public override string? EntityId(object message) => message switch
        {
            Admit a => a.Tenant,
            Released r => r.Tenant,
            _ => null,
        };

        // The same in every process (string.GetHashCode is randomised per process).
        public override string ShardId(string entityId, object? messageHint = null) => SessionSharding.StableShard(entityId, 16);
    }

    private sealed class Entity : UntypedActor, IWithStash
    {
        private readonly ORSetKey<string> key;
        private readonly IActorRef replicator;
        private readonly UniqueAddress self;
        private readonly ILoggingAdapter log = Context.GetLogger();
        private readonly HashSet<string> admitted = new(StringComparer.Ordinal);

        public Entity(string key)
        {
            this.key = new ORSetKey<string>(key);
            replicator = DistributedData.Get(Context.System).Replicator;
            self = Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress;
        }

        public IStash Stash { get; set; } = null!;

        protected override void PreStart() => replicator.Tell(Dsl.Get(key, new ReadMajority(Consistency)));

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case GetSuccess success:
                    Loaded(success.Get(key).Elements);
                    break;
                case NotFound:
                    Loaded([]);
                    break;
                case GetFailure:
                    // No majority answered in time: what this node's replica holds, then the same rules.
                    log.Warning("session admission {Key}: no majority answered within {Timeout}; starting from this node's replica", key.Id, Consistency);
                    replicator.Tell(Dsl.Get(key, ReadLocal.Instance));
                    break;
                default:
                    Stash.Stash();
                    break;
            }
        }

        private void Loaded(IEnumerable<string> sessions)
        {
            admitted.UnionWith(sessions);
            Become(Admitting);
            Stash.UnstashAll();
        }

        private void Admitting(object message)
        {
            switch (message)
            {
                case Admit admit when admitted.Contains(admit.SessionId):
                    Sender.Tell(new Admitted(true, admitted.Count));
                    break;
                case Admit admit when admitted.Count >= admit.Max:
                    Sender.Tell(new Admitted(false, admitted.Count));
                    break;
                case Admit admit:
                    admitted.Add(admit.SessionId);
                    // Answered once a majority holds it (or its write timed out: it still gossips, and this entity counts it).
                    replicator.Tell(Dsl.Update(key, ORSet<string>.Empty, new WriteMajority(Consistency), (Sender, admitted.Count), set => set.Add(self, admit.SessionId)));
                    break;
                case IUpdateResponse { Request: (IActorRef asker, int count) }:
                    asker.Tell(new Admitted(true, count));
                    break;
                case Released released:
                    admitted.Remove(released.SessionId);
                    Sender.Tell(new Admitted(true, admitted.Count));
                    break;
                case GetSuccess or NotFound or GetFailure:
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }
    }
}
