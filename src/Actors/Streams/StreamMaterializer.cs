using Akka.Actor;
using Akka.Streams;

namespace Fantasy.Actors.Streams;

/// <summary>
/// One materializer per actor system for the inbound streams (WebSocket connections and HTTP fallback turns). <c>Context.Materializer()</c> makes a
/// new materializer — and a stream supervisor actor — for every connection that calls it; a shared one gives each
/// connection one actor less (its mailbox, cell and path) and a cheaper open. The stream no longer stops with the
/// connection actor on its own: the connection aborts it through its kill switch when it stops.
/// </summary>
internal sealed class StreamMaterializer : IExtension
{
    public StreamMaterializer(ExtendedActorSystem system) =>
        Materializer = ActorMaterializer.Create(system, namePrefix: "fantasy-inbound");

    public IMaterializer Materializer { get; }

    public static IMaterializer For(ActorSystem system) => system.WithExtension<StreamMaterializer, Provider>().Materializer;

    private sealed class Provider : ExtensionIdProvider<StreamMaterializer>
    {
        public override StreamMaterializer CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
