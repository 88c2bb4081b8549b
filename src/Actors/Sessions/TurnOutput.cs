using System.Threading.Channels;
using Akka.Actor;
using Fantasy.Actors.Contract;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// Where a session writes a turn's events and its one <see cref="TurnFinished"/>: the caller's channel in this
/// process (<see cref="ChannelTurnOutput"/>), or a relay actor on the caller's node when the session lives on
/// another (<see cref="Cluster.RelayTurnOutput"/>).
/// </summary>
internal interface ITurnOutput
{
    /// <summary>The session <paramref name="session"/> has taken the turn into its queue.</summary>
    void Accepted(IActorRef session);

    bool TryWrite(TurnEvent item);

    /// <summary>Whether written events wait in the output for <see cref="Flush"/> (a relay on another node batches them).</summary>
    bool HasBuffered { get; }

    /// <summary>Sends what waits (nothing for a channel). A terminal write flushes first on its own.</summary>
    void Flush();

    bool TryComplete();
}

/// <summary>The caller's channel, in this process.</summary>
internal sealed class ChannelTurnOutput(ChannelWriter<TurnEvent> writer) : ITurnOutput
{
    public void Accepted(IActorRef session)
    {
    }

    public bool TryWrite(TurnEvent item) => writer.TryWrite(item);

    public bool HasBuffered => false;

    public void Flush()
    {
    }

    public bool TryComplete() => writer.TryComplete();
}
