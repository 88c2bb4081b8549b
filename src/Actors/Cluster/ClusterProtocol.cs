using Akka.Actor;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// The messages a turn's relay receives from the node that owns its session. They carry what crosses the network:
/// ids, the upstream events as the JSON the upstream sent, and the turn's end without its result (the relay folds
/// the same events into the same result on the caller's node).
/// </summary>
internal static class RelayProtocol
{
    /// <summary>The session took the turn into its queue; the relay watches it from now on.</summary>
    public sealed record TurnAccepted(string TurnId) : IClusterMessage;

    public sealed record RelayedStarted(string TurnId, Transport Transport, bool Chained) : IClusterMessage;

    /// <summary>
    /// One upstream event, as received. <paramref name="Parsed"/> is the event itself when the relay is in the
    /// session's own process (it is never serialized: a relay on another node parses <paramref name="Json"/>).
    /// </summary>
    public sealed record RelayedEvent(string TurnId, byte[] Json, ServerEvent? Parsed = null) : IClusterMessage;

    /// <summary>
    /// Consecutive upstream events of one turn, as received, in one message to a relay on another node: the events the
    /// session handled in one go (one inbound batch) cross the network together instead of one remote message each.
    /// </summary>
    public sealed record RelayedEvents(string TurnId, IReadOnlyList<byte[]> Events) : IClusterMessage;

    /// <summary>
    /// The turn's one terminal. <see cref="TurnEnd.Result"/> carries only its <see cref="Protocol.TurnResult.Status"/>
    /// across the network; the relay completes it from the events it relayed.
    /// </summary>
    public sealed record RelayedFinished(string TurnId, TurnEnd End) : IClusterMessage;
}

/// <summary>
/// A turn's output when its session may live on another node: every event goes to the relay actor on the caller's
/// node, addressed by the turn id. Serializable (the relay's path and the turn id). Towards a relay on another node,
/// events wait here until the session flushes them (after the events already in its mailbox, so one inbound batch
/// makes one remote message) or until <see cref="MaxBatchBytes"/> of them wait; a start or terminal write flushes
/// first, so the order is kept.
/// </summary>
internal sealed class RelayTurnOutput(IActorRef relay, string turnId, bool? batch = null) : ITurnOutput
{
    /// <summary>Events waiting past this many bytes go at once.</summary>
    public const int MaxBatchBytes = 256 * 1024;

    // Batched (as their received bytes) when the relay is on another node; a relay in this process gets each parsed
    // event at once. The parameter is for specs, which have no relay on another node.
    private readonly bool remote = batch ?? !relay.Path.Address.HasLocalScope;
    private List<byte[]>? waiting;
    private int waitingBytes;

    public IActorRef Relay { get; } = relay;

    public string TurnId { get; } = turnId;

    public bool HasBuffered => waiting is { Count: > 0 };

    public void Flush()
    {
        if (waiting is not { Count: > 0 } events)
        {
            return;
        }

        waiting = null;
        waitingBytes = 0;
        Relay.Tell(events.Count == 1 ? new RelayProtocol.RelayedEvent(TurnId, events[0]) : new RelayProtocol.RelayedEvents(TurnId, events), ActorRefs.NoSender);
    }

    public void Accepted(IActorRef session) => Relay.Tell(new RelayProtocol.TurnAccepted(TurnId), session);

    public bool TryWrite(TurnEvent item)
    {
        if (item is TurnUpstreamEvent { Event: var e } && remote)
        {
            var json = ReceivedJson(e);
            (waiting ??= new List<byte[]>(8)).Add(json);
            waitingBytes += json.Length;
            if (waitingBytes >= MaxBatchBytes)
            {
                Flush();
            }

            return true;
        }

        Flush();
        object message = item switch
        {
            TurnStarted s => new RelayProtocol.RelayedStarted(TurnId, s.Transport, s.Chained),
            TurnUpstreamEvent u => new RelayProtocol.RelayedEvent(TurnId, [], u.Event),
            TurnFinished f => new RelayProtocol.RelayedFinished(TurnId, f.End),
            _ => throw new ArgumentOutOfRangeException(nameof(item), item, "not a turn event"),
        };
        Relay.Tell(message, ActorRefs.NoSender);
        return true;
    }

    public bool TryComplete() => true;

    /// <summary>The event's bytes as received: the array the event already owns (kept raw, never reused), copied only if it is a slice.</summary>
    private static byte[] ReceivedJson(Protocol.ServerEvent e) =>
        !e.ReceivedJson.IsEmpty ? Whole(e.ReceivedJson)
        : e is Protocol.UnknownEvent u ? Whole(u.RawJson)
        : throw new InvalidOperationException($"event {e.Type} has no received JSON; cluster mode needs fantasy.connection.keep-raw-events = on");

    private static byte[] Whole(ReadOnlyMemory<byte> bytes) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToArray();
}
