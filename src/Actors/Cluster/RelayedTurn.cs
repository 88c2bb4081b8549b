using System.Threading.Channels;
using Akka.Actor;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using static Fantasy.Actors.Cluster.RelayProtocol;

namespace Fantasy.Actors.Cluster;

/// <summary>One turn the relay holds for its caller on this node: where its events go and what they made so far.</summary>
/// <param name="passThrough">The caller passes events on unchanged (<see cref="TurnOptions.PassThrough"/>).</param>
internal sealed class RelayedTurn(SessionKey key, ChannelWriter<TurnEvent> output, bool passThrough = false)
{
    public SessionKey Key { get; } = key;

    public ChannelWriter<TurnEvent> Out { get; } = output;

    /// <summary>Text-carrying events reach the caller as <see cref="ReceivedEvent"/>, and no delta is folded.</summary>
    public bool PassThrough { get; } = passThrough;

    public TurnAccumulator Result { get; } = new(foldDeltas: !passThrough);

    public int Events { get; set; }

    /// <summary>The session that accepted it; null until one did.</summary>
    public IActorRef? Session { get; set; }

    public RelayedStarted? Started { get; set; }

    /// <summary>The turn, until a session accepts it.</summary>
    public SessionProtocol.SubmitTurn? Submit { get; set; }

    public IActorRef? Region { get; init; }
}
