using Akka.Configuration;
using Akka.TestKit;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Simulator;
using Xunit.Abstractions;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>
/// Sessions through the public API against a simulator on loopback. Session, connection and fallback timers
/// run on virtual time (<see cref="Clock"/>); I/O is real.
/// </summary>
public abstract class SessionsTestKit : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{

    private static readonly Config VirtualTime = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = INFO
        """).WithFallback(FantasySettings.DefaultConfig);

    protected SessionsTestKit(string systemName, ITestOutputHelper output)
        : base(VirtualTime, systemName, output)
    {
    }

    protected ResponsesSimulator Sim { get; private set; } = null!;

    protected ResponsesSessions Sessions { get; set; } = null!;

    protected TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    /// <summary>The simulator's options (a spec may give it an organization budget).</summary>
    protected virtual SimulatorOptions SimulatorOptions => new() { KeepLastRequests = 64 };

    public async Task InitializeAsync()
    {
        Sim = await ResponsesSimulator.StartAsync(SimulatorOptions);
        Sessions = Start();
    }

    public async Task DisposeAsync() => await Sim.DisposeAsync();

    /// <summary>A session manager named <paramref name="name"/> over the simulator, with <paramref name="extra"/> HOCON.</summary>
    protected ResponsesSessions Start(string extra = "", string name = "fantasy-sessions", Uri? webSocketUrl = null) =>
        new(Sys, new UpstreamCredentials("sk-test"), Settings(extra, webSocketUrl), name);

    /// <summary>The specs' settings over the simulator, with <paramref name="extra"/> HOCON.</summary>
    protected FantasySettings Settings(string extra = "", Uri? webSocketUrl = null) =>
        FantasySettings.FromConfig(ConfigurationFactory.ParseString($"""
            fantasy.upstream.websocket-url = "{webSocketUrl ?? Sim.WebSocketUrl}"
            fantasy.upstream.base-url = "{Sim.BaseUrl}"
            fantasy.connection.max-age-jitter = 0s
            # Virtual time jumps tens of minutes in some specs; keep the other timers out of the way.
            fantasy.connection.turn-watchdog = 2h
            fantasy.session.idle-close-after = 2h
            fantasy.session.session-idle-timeout = 3h
            fantasy.http.max-retries = 2
            fantasy.http.initial-backoff = 500ms
            {extra}
            """));
}
