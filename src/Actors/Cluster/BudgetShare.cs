using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using static Fantasy.Actors.Limits.UpstreamBudgetProtocol;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// Cluster mode's part of the shared upstream budget: each node that hosts sessions paces itself to 1/n of the
/// credential's limits, n being the nodes up with the sessions role. A node's share changes as nodes join and leave.
/// Chosen over one budget entity per credential for the cluster: that would put a network round trip before every
/// turn and stop every turn while its node is being replaced; the cost of shares is a node whose sessions are quiet
/// leaves its share unused (sharding spreads sessions evenly, so the shares are used evenly under load).
/// </summary>
internal sealed class BudgetShare : ReceiveActor
{
    private readonly IActorRef budget;
    private readonly string? role;
    private readonly HashSet<Address> up = [];
    private readonly ILoggingAdapter log = Context.GetLogger();
    private int told;

    public BudgetShare(IActorRef budget, string? role)
    {
        this.budget = budget;
        this.role = string.IsNullOrEmpty(role) ? null : role;
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var m in state.Members.Where(m => m.Status == MemberStatus.Up && Counts(m)))
            {
                up.Add(m.Address);
            }

            Tell();
        });
        Receive<ClusterEvent.MemberUp>(e =>
        {
            if (Counts(e.Member))
            {
                up.Add(e.Member.Address);
                Tell();
            }
        });
        Receive<ClusterEvent.MemberRemoved>(e =>
        {
            up.Remove(e.Member.Address);
            Tell();
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
    }

    public static Props Props(IActorRef budget, string? role) => Akka.Actor.Props.Create(() => new BudgetShare(budget, role));

    private bool Counts(Member m) => role is null || m.HasRole(role);

    protected override void PreStart() =>
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    private void Tell()
    {
        var nodes = Math.Max(1, up.Count);
        if (nodes == told)
        {
            return;
        }

        told = nodes;
        log.Debug("upstream budget {0}: {1} nodes share it", budget.Path.Name, nodes);
        budget.Tell(new SetShare(1.0 / nodes));
    }
}

/// <summary>Starts a node's <see cref="BudgetShare"/> keepers.</summary>
internal static class BudgetShares
{
    /// <summary>Starts the share keeper for <paramref name="budget"/> once (nothing when the budget is off).</summary>
    public static void Start(ActorSystem system, IActorRef? budget, string? role)
    {
        if (budget is null)
        {
            return;
        }

        try
        {
            system.ActorOf(BudgetShare.Props(budget, role), budget.Path.Name + "-share");
        }
        catch (InvalidActorNameException)
        {
            // Another session manager on the same credential started it already.
        }
    }
}
