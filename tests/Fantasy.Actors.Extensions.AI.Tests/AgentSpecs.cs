using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Simulator;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary>A Microsoft Agent Framework <see cref="ChatClientAgent"/> over <see cref="ResponsesSessionChatClient"/>.</summary>
public sealed class AgentSpecs : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private ResponsesSimulator sim = null!;
    private ActorSystem system = null!;
    private ResponsesSessions sessions = null!;

    public async Task InitializeAsync()
    {
        sim = await ResponsesSimulator.StartAsync();
        system = ActorSystem.Create("agent-specs", ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(FantasySettings.DefaultConfig));
        sessions = new ResponsesSessions(system, new UpstreamCredentials("sk-test"), FantasySettings.FromConfig(ConfigurationFactory.ParseString($"""
            fantasy.upstream.websocket-url = "{sim.WebSocketUrl}"
            fantasy.upstream.base-url = "{sim.BaseUrl}"
            """)));
    }

    public async Task DisposeAsync()
    {
        await system.Terminate();
        await sim.DisposeAsync();
    }

    [Fact]
    public async Task An_agent_session_of_several_turns_goes_upstream_as_deltas_on_one_socket()
    {
        var looked = 0;
        var lookup = AIFunctionFactory.Create((int index, int of) => { looked++; return $"found {index + 1} of {of}"; }, "lookup", "Looks something up.");
        var agent = new ChatClientAgent(sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" }), "be brief", "helper", tools: [lookup]);
        var session = await agent.CreateSessionAsync();

        var first = await agent.RunAsync("CALL lookup 1", session).WaitAsync(Patience);
        var second = await agent.RunAsync("hello again", session).WaitAsync(Patience);
        var third = await agent.RunAsync("CALL lookup 1", session).WaitAsync(Patience);

        Assert.Equal(2, looked);
        Assert.StartsWith("tool results received: 1.", first.Text, StringComparison.Ordinal);
        Assert.Equal("ok: 5", second.Text); // the server-side context: user, call, result, answer, user
        Assert.StartsWith("tool results received: 1.", third.Text, StringComparison.Ordinal);

        // Five model calls (call + answer, answer, call + answer) on one socket; all but the first are deltas.
        Assert.Equal(1, sim.Counters.ConnectionsOpened);
        Assert.Equal(5, sim.Counters.ResponseCreateFrames);
        Assert.Equal(4, sim.Counters.ChainedRequests);
    }
}
