using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Simulator;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>When the actor system goes away, no turn is left without its terminal.</summary>
public sealed class ShutdownSpecs : IAsyncLifetime
{
    private ResponsesSimulator sim = null!;
    private ActorSystem system = null!;
    private ResponsesSessions sessions = null!;

    public async Task InitializeAsync()
    {
        sim = await ResponsesSimulator.StartAsync();
        system = ActorSystem.Create("shutdown-specs", ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            fantasy.upstream.websocket-url = "{sim.WebSocketUrl}"
            """).WithFallback(FantasySettings.DefaultConfig));
        sessions = new ResponsesSessions(system, new UpstreamCredentials("sk-test"));
    }

    public async Task DisposeAsync()
    {
        await system.Terminate();
        await sim.DisposeAsync();
    }

    [Fact]
    public async Task A_running_turn_ends_failed_when_the_system_terminates()
    {
        sim.Faults.Stall(TimeSpan.FromSeconds(60));
        await using var turn = sessions.RunTurnAsync(new SessionKey("t", "running"), Request(User("long"))).GetAsyncEnumerator();
        Assert.True(await turn.MoveNextAsync());
        Assert.IsType<TurnStarted>(turn.Current); // the turn is running on its socket

        await system.Terminate();

        var items = new List<TurnEvent>();
        while (await turn.MoveNextAsync().AsTask().WaitAsync(Patience))
        {
            items.Add(turn.Current);
        }

        var end = Assert.IsType<TurnFinished>(Assert.Single(items, i => i is TurnFinished)).End;
        Assert.IsType<TurnFinished>(items[^1]);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Equal(Transport.WebSocket, end.Transport);
    }

    [Fact]
    public async Task A_turn_submitted_after_the_system_terminated_ends_failed()
    {
        await system.Terminate();

        var (events, end) = await Turns.CollectAsync(sessions.RunTurnAsync(new SessionKey("t", "late"), Request(User("hi")))).WaitAsync(Patience);

        Assert.Empty(events);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Contains("stopped", end.Reason, StringComparison.Ordinal);
    }
}
