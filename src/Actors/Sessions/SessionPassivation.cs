using Akka.Actor;
using Fantasy.Actors.Contract;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// How a session lives under its owner: a child of the local <see cref="SessionManager"/>, or an entity of a cluster
/// shard region. The session asks this rather than testing where it runs.
/// </summary>
internal abstract class SessionPassivation
{
    /// <summary>A child of the local manager: started by a turn, stopped through the manager.</summary>
    public static readonly SessionPassivation Local = new LocalPassivation();

    /// <summary>An entity of a shard region: started by any message, stopped through its shard.</summary>
    public static readonly SessionPassivation Sharded = new ShardedPassivation();

    /// <summary>
    /// A turn may arrive more than once (the cluster's relay sends it again until it is accepted): the session
    /// remembers the turn ids it took and takes each once.
    /// </summary>
    public abstract bool TurnsMayRepeat { get; }

    /// <summary>
    /// Any message starts the session, so one that never had a turn answers a status request as missing and a close
    /// request itself; a local session only exists once a turn created it (the manager answers for missing ones).
    /// </summary>
    public abstract bool StartedByAnyMessage { get; }

    /// <summary>Asks the owner to stop the session behind what it already has for it.</summary>
    public abstract void Passivate(IActorContext context, SessionKey key);

    private sealed class LocalPassivation : SessionPassivation
    {
        public override bool TurnsMayRepeat => false;

        public override bool StartedByAnyMessage => false;

        public override void Passivate(IActorContext context, SessionKey key) => context.Parent.Tell(new SessionProtocol.Passivate(key));
    }

    private sealed class ShardedPassivation : SessionPassivation
    {
        public override bool TurnsMayRepeat => true;

        public override bool StartedByAnyMessage => true;

        public override void Passivate(IActorContext context, SessionKey key) =>
            context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(StopSession.Instance));
    }
}
