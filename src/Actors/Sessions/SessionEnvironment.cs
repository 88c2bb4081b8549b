using Akka.Actor;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Persistence;

namespace Fantasy.Actors.Sessions;

/// <summary>What a session needs from its surroundings.</summary>
internal sealed record SessionEnvironment(
    FantasySettings Settings,
    UpstreamCredentials Credentials,
    WebSocketConnector Connector,
    IActorRef Http)
{
    /// <summary>
    /// Where a connection of the given epoch sends its reports, given the session; the session itself unless a
    /// spec interposes (to order a connection's reports against the session's own messages).
    /// </summary>
    public Func<long, IActorRef, IActorRef>? ReportsTo { get; init; }

    /// <summary>
    /// How the session lives under its owner (<see cref="SessionPassivation.Sharded"/>: an entity of a cluster shard
    /// region, which passivates through the shard, answers status and close itself, and takes a resent turn once).
    /// </summary>
    public SessionPassivation Passivation { get; init; } = SessionPassivation.Local;

    /// <summary>The sessions' shared view of their journal (unused without persistence).</summary>
    public JournalHealth Journal { get; init; } = new(false, TimeSpan.FromSeconds(2));

    /// <summary>The journal's database, for deleting a conversation for good; null without persistence.</summary>
    public RecordStore? Records { get; init; }

    /// <summary>The upstream credential's budget every turn asks before it goes upstream; null when <c>fantasy.rate-limits.enabled</c> is off.</summary>
    public IActorRef? Budget { get; init; }

    /// <summary>Whether sessions record their turns (<c>fantasy.persistence.provider</c> is not none).</summary>
    public bool Durable => Settings.Persistence.Enabled;

    /// <summary>Events a turn's caller may hold unread before the socket stops being read (<c>session.consumer-window</c>).</summary>
    public int ConsumerWindow => Settings.Session.ConsumerWindow;

    /// <summary>Bytes of a turn's events its caller may hold unread (<c>session.consumer-window-bytes</c>).</summary>
    public long ConsumerWindowBytes => Settings.Session.ConsumerWindowBytes;
}
