using Akka.Actor;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Streams;

namespace Fantasy.Actors.Tests.Streams;

/// <summary>The shared materializer is started with the service, never by the first of a burst of connections.</summary>
public sealed class StreamMaterializerSpecs
{
    [Fact]
    public async Task The_service_starts_the_materializer_and_its_supervisor_before_any_session()
    {
        using var system = ActorSystem.Create("materializer-specs", FantasySettings.DefaultConfig);
        Assert.False(system.HasExtension<StreamMaterializer>());

        _ = new ResponsesSessions(system, new UpstreamCredentials("sk-test"));

        // Nothing has connected yet: the materializer exists and materializes without asking its supervisor.
        Assert.True(system.HasExtension<StreamMaterializer>());
        Assert.True(system.GetExtension<StreamMaterializer>().Started);
        await system.Terminate();
    }
}
