using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Fallback;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using Xunit.Abstractions;
using static Fantasy.Actors.Connections.ConnectionProtocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>
/// A turn handed to a connection that is closing itself, ordered deterministically: the first connection's
/// reports go to a probe, which releases them to the session in the order a spec chooses, while the session
/// talks to the real connection over a real socket to the simulator.
/// </summary>
public sealed class ConnectionRaceSpecs(ITestOutputHelper output) : SessionsTestKit("connection-race-specs", output), IDisposable
{
    private static readonly SessionKey Key = new("tenant-a", "conv-race");
    private readonly WebSocketConnector connector = new();
    private readonly HttpClient http = new();
    private readonly TaskCompletionSource<IActorRef> session = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public new void Dispose()
    {
        connector.Dispose();
        http.Dispose();
        base.Dispose();
    }

    /// <summary>Sessions whose first connection (epoch 1) reports to <paramref name="relay"/> instead of its session.</summary>
    private ResponsesSessions StartRelayed(IActorRef relay, FantasySettings settings)
    {
        var fallback = Sys.ActorOf(HttpFallbackActor.Props(settings, http, new UpstreamCredentials("sk-test")), "race-http");
        var env = new SessionEnvironment(settings, new UpstreamCredentials("sk-test"), connector, fallback)
        {
            ReportsTo = (epoch, self) =>
            {
                session.TrySetResult(self);
                return epoch == 1 ? relay : self;
            },
        };
        return new ResponsesSessions(Sys, Sys.ActorOf(SessionManager.Props(env), "race-sessions"), settings);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_turn_sent_to_a_connection_that_closed_on_an_idle_error_runs_on_a_new_connection(bool idleErrorArrives)
    {
        var relay = CreateTestProbe();
        Sessions = StartRelayed(relay.Ref, Settings());
        var turn = Sessions.RunTurnToEndAsync(Key, Request(User("hello")));

        // The connection opens; the session does not know yet.
        var connected = await relay.ExpectMsgAsync<Connected>(Patience);

        // The upstream pushes the limit error onto the idle socket: the connection reports it and closes itself.
        Sim.Faults.PushLimitErrorToIdleSockets();
        var idle = await relay.ExpectMsgAsync<IdleError>(Patience);
        Assert.Equal(UpstreamError.ConnectionLimitReached, idle.Error.Code);
        var closed = await relay.ExpectMsgAsync<ConnectionClosed>(Patience);
        var sessionRef = await session.Task;

        // Only now does the session learn it is connected: it sends the turn to a connection that is gone.
        sessionRef.Tell(connected);
        if (idleErrorArrives)
        {
            sessionRef.Tell(idle);
        }

        sessionRef.Tell(closed);

        var end = await turn.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal("ok: 1", end.Result.Text);
        Assert.Equal(2, Sim.Counters.ConnectionsOpened);
        Assert.Equal(1, Sim.Counters.FreshRequests);

        var status = await Sessions.GetStatusAsync(Key);
        Assert.False(status!.Busy);
        Assert.Equal(ConnectionState.Open, status.ConnectionState);

        // The session is not wedged: the next turn chains on the new connection.
        var next = await Sessions.RunTurnToEndAsync(Key, Request(User("hello"), end.Result.Output[0].Json, User("again"))).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        Assert.True(next.Chained);
    }

    [Fact]
    public async Task A_turn_that_no_connection_takes_fails_retryably_after_the_orphaned_turn_timeout()
    {
        // An upstream that accepts TCP and never answers the upgrade: the first connection stays connecting.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var url = new Uri($"ws://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/v1/responses");
        var relay = CreateTestProbe();
        Sessions = StartRelayed(relay.Ref, Settings("fantasy.connection.connect-timeout = 2h\nfantasy.session.orphaned-turn-timeout = 30s", url));
        var turn = Sessions.RunTurnToEndAsync(Key, Request(User("hello")));
        var sessionRef = await session.Task;

        // A connected report the connection never sent: the turn goes to a connection that cannot take it.
        sessionRef.Tell(new Connected(1));
        await AwaitAssertAsync(async () => Assert.True((await Sessions.GetStatusAsync(Key))!.Busy), Patience);

        // The turn was handed to the connection before the session said it was busy; once an Identify sent now comes
        // back, the connection has taken the turn out of its mailbox (the liveness check below must find it there).
        var identity = await Sys.ActorSelection(sessionRef.Path / "ws-1").Ask<ActorIdentity>(new Identify(1), Patience);
        Assert.NotNull(identity.Subject);

        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.False(turn.IsCompleted);
        Clock.Advance(TimeSpan.FromSeconds(30));

        var end = await turn.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Contains("no live connection", end.Reason, StringComparison.Ordinal);
        Assert.Contains("orphaned-turn-timeout", end.Reason, StringComparison.Ordinal);

        // The connection that held the turn without taking it is stopped; its report arrives and is stale.
        var interrupted = await relay.FishForMessageAsync<TurnInterrupted>(m => m is TurnInterrupted, Patience);
        Assert.False(interrupted.FrameSent);
        var status = await Sessions.GetStatusAsync(Key);
        Assert.False(status!.Busy);
    }

    [Fact]
    public async Task A_turn_caught_in_the_race_can_still_be_cancelled()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var url = new Uri($"ws://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/v1/responses");
        var relay = CreateTestProbe();
        Sessions = StartRelayed(relay.Ref, Settings("fantasy.connection.connect-timeout = 2h", url));
        using var cts = new CancellationTokenSource();
        var turn = Turns.CollectAsync(Sessions.RunTurnAsync(Key, Request(User("hello")), cancellationToken: cts.Token));
        var sessionRef = await session.Task;
        sessionRef.Tell(new Connected(1));
        await AwaitAssertAsync(async () => Assert.True((await Sessions.GetStatusAsync(Key))!.Busy), Patience);

        // The connection's closing report reaches the session although its actor is still there.
        sessionRef.Tell(new IdleError(1, UpstreamError.FromTransport("pushed")));
        await AwaitAssertAsync(async () => Assert.Equal(2, (await Sessions.GetStatusAsync(Key))!.ConnectionEpoch), Patience);
        await cts.CancelAsync();

        var (_, end) = await turn.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Cancelled, end.Outcome);
    }
}
