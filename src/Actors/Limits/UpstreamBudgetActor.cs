using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Diagnostics;
using static Fantasy.Actors.Limits.UpstreamBudgetProtocol;

namespace Fantasy.Actors.Limits;

/// <summary>
/// One upstream credential's budget on this node, shared by every session that uses the credential: each turn asks
/// before it goes upstream, and is let through at once while the budget allows and nobody waits; otherwise it waits
/// in a <see cref="FairQueue{T}"/> (tenants by weight, FIFO within one) and is let through when the estimate
/// (<see cref="UpstreamBudget"/>) has room again — one timer, at the moment the next waiting turn fits. What the
/// upstream says (headers, 429s) reaches it from the sessions' transports.
/// </summary>
internal sealed class UpstreamBudgetActor : UntypedActor, IWithTimers
{
    private const string TickKey = "tick";

    private readonly string name;
    private readonly RateLimitSettings settings;
    private readonly UpstreamBudget budget;
    private readonly FairQueue<Waiter> waiting = new();
    private readonly HashSet<string> tenantsSeen = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter log = Context.GetLogger();
    private long admitted;
    private DateTimeOffset loggedHold = DateTimeOffset.MinValue;

    public UpstreamBudgetActor(string name, RateLimitSettings settings)
    {
        this.name = name;
        this.settings = settings;
        budget = new UpstreamBudget(settings.DefaultHold);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string name, RateLimitSettings settings) =>
        Akka.Actor.Props.Create(() => new UpstreamBudgetActor(name, settings));

    private static DateTimeOffset Now => Context.System.Scheduler.Now;

    private sealed record Waiter(string TurnId, IActorRef Session, long Tokens, DateTimeOffset Since);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    protected override void PreStart() => Publish();

    protected override void PostStop() => BudgetGauges.Forget(name);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case AskToSend ask:
                var now = Now;
                tenantsSeen.Add(ask.Tenant);
                if (waiting.Count == 0 && budget.TryTake(ask.Tokens, now))
                {
                    admitted++;
                    FantasyMetrics.BudgetWait.Record(0, new KeyValuePair<string, object?>("fantasy.tenant", ask.Tenant));
                    Sender.Tell(new MaySend(ask.TurnId));
                    return;
                }

                waiting.Enqueue(ask.Tenant, settings.WeightOf(ask.Tenant), new Waiter(ask.TurnId, Sender, ask.Tokens, now), front: ask.Resent);
                Admit();
                break;
            case Withdraw withdraw:
                var session = Sender;
                if (waiting.Remove(w => w.TurnId == withdraw.TurnId && w.Session.Equals(session)))
                {
                    Admit();
                }

                break;
            case Unused unused:
                budget.GiveBack(unused.Tokens, Now);
                Admit();
                break;
            case UpstreamSaid said:
                budget.Learn(said.Snapshot, Now);
                Admit();
                break;
            case UpstreamRefused refused:
                Refused(refused);
                break;
            case SetShare share:
                budget.Share = share.Share;
                log.Info("upstream budget {Budget}: this node paces itself to {Share:P0} of the credential's limits", name, share.Share);
                Admit();
                break;
            case Tick:
                Admit();
                break;
            case GetBudget:
                Sender.Tell(Status());
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Refused(UpstreamRefused refused)
    {
        var now = Now;
        FantasyMetrics.UpstreamRateLimited.Add(1, new KeyValuePair<string, object?>("fantasy.transport", refused.Transport));
        var hold = budget.Refused(refused.Error, now);
        if (now >= loggedHold)
        {
            // One line per hold, not one per refused turn.
            log.Warning("upstream budget {Budget}: the upstream answered 429 {Code} ({Type}) over {Transport}: every session on this credential holds its new turns for {Hold}: {Message}",
                name, refused.Error.Code, refused.Error.Type, refused.Transport, hold, refused.Error.Message);
            loggedHold = budget.HoldUntil;
        }

        Admit();
    }

    /// <summary>Lets waiting turns through, fairly, while the budget allows; then waits for the moment the next one fits.</summary>
    private void Admit()
    {
        var now = Now;
        while (waiting.TryPeek(out var tenant, out var next))
        {
            if (!budget.TryTake(next.Tokens, now))
            {
                var wait = budget.WhenPossible(next.Tokens, now);
                Timers.StartSingleTimer(TickKey, Tick.Instance, wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1));
                Publish();
                return;
            }

            waiting.Take();
            admitted++;
            FantasyMetrics.BudgetWait.Record((now - next.Since).TotalSeconds, new KeyValuePair<string, object?>("fantasy.tenant", tenant));
            next.Session.Tell(new MaySend(next.TurnId));
        }

        Timers.Cancel(TickKey);
        Publish();
    }

    private void Publish()
    {
        var counts = waiting.Waiting.ToDictionary(w => w.Tenant, w => w.Waiting, StringComparer.Ordinal);
        var said = budget.LastSaid;
        BudgetGauges.Publish(name, new BudgetGauges.Published(
            said?.Requests.Remaining,
            said?.Tokens.Remaining,
            tenantsSeen.Select(t => (t, counts.GetValueOrDefault(t))).ToList()));
    }

    private BudgetStatus Status()
    {
        var now = Now;
        return new BudgetStatus(
            budget.RequestLimit,
            budget.RequestsLeft(now),
            budget.TokenLimit,
            budget.TokensLeft(now),
            budget.HoldUntil,
            budget.Share,
            waiting.Waiting.ToDictionary(w => w.Tenant, w => w.Waiting, StringComparer.Ordinal),
            admitted);
    }
}
