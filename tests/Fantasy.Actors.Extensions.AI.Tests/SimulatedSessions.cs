using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary>A spec's own simulator and session service over it (each spec counts the simulator's requests).</summary>
public abstract class SimulatedSessions : IAsyncLifetime
{

    private ActorSystem system = null!;

    protected ResponsesSimulator Sim { get; private set; } = null!;

    protected ResponsesSessions Sessions { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 64 });
        system = ActorSystem.Create(GetType().Name, ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(FantasySettings.DefaultConfig));
        Sessions = new ResponsesSessions(system, new UpstreamCredentials("sk-test"), FantasySettings.FromConfig(ConfigurationFactory.ParseString($"""
            fantasy.upstream.websocket-url = "{Sim.WebSocketUrl}"
            fantasy.upstream.base-url = "{Sim.BaseUrl}"
            """)));
    }

    public async Task DisposeAsync()
    {
        await system.Terminate();
        await Sim.DisposeAsync();
    }
}
