using Akka.Actor;
using Akka.Streams;

namespace Fantasy.Actors.Streams;

/// <summary>
/// One materializer per actor system for the inbound streams (WebSocket connections and HTTP fallback turns). <c>Context.Materializer()</c> makes a
/// new materializer — and a stream supervisor actor — for every connection that calls it; a shared one gives each
/// connection one actor less (its mailbox, cell and path) and a cheaper open. The stream no longer stops with the
/// connection actor on its own: the connection aborts it through its kill switch when it stops.
/// </summary>
/// <remarks>
/// Started with the service (<see cref="Start"/>), never by the first connection: the materializer's stream
/// supervisor is a <see cref="RepointableActorRef"/>, and until it has started Akka.Streams materializes every graph
/// by asking it and blocking on the answer (<c>ExtendedActorMaterializer.ActorOf</c>, <c>Ask(…).Result</c>). Made by
/// the first of a burst of connections, each connection's actor then blocks a pool thread while the supervisor's
/// own start waits for one.
/// </remarks>
internal sealed class StreamMaterializer : IExtension
{
    public StreamMaterializer(ExtendedActorSystem system) =>
        Materializer = ActorMaterializer.Create(system, namePrefix: "fantasy-inbound");

    public IMaterializer Materializer { get; }

    /// <summary>Whether the stream supervisor has started: from then on a graph materializes without asking anyone.</summary>
    public bool Started => ((ActorMaterializer)Materializer).Supervisor is not RepointableActorRef { IsStarted: false };

    public static IMaterializer For(ActorSystem system) => system.WithExtension<StreamMaterializer, Provider>().Materializer;

    /// <summary>
    /// Makes the system's materializer and waits (at most <paramref name="timeout"/>, on a thread pool that is
    /// still free) until its stream supervisor has started. Returns whether it has.
    /// </summary>
    public static bool Start(ActorSystem system, TimeSpan timeout)
    {
        var extension = system.WithExtension<StreamMaterializer, Provider>();
        return extension.Started || SpinWait.SpinUntil(() => extension.Started, timeout);
    }

    private sealed class Provider : ExtensionIdProvider<StreamMaterializer>
    {
        public override StreamMaterializer CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
