using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using Xunit.Abstractions;

namespace Fantasy.Actors.Tests.Cluster;

/// <summary>The relay alone, with a probe for the region and the session, on virtual time.</summary>
public sealed class TurnRelaySpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    ConfigurationFactory.ParseString("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """), "turn-relay-specs", output)
{
    private static readonly TimeSpan AcceptTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ResendInterval = TimeSpan.FromMilliseconds(700); // not the default: the relay takes what it is given
    private static readonly SessionKey Key = new("t", "c");

    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    private (IActorRef Relay, TestProbe Region, Channel<TurnEvent> Channel, SessionProtocol.SubmitTurn Submit) Register(string turnId)
    {
        var relay = Sys.ActorOf(TurnRelay.Props(AcceptTimeout, ResendInterval));
        var region = CreateTestProbe();
        var channel = Channel.CreateUnbounded<TurnEvent>();
        var submit = new SessionProtocol.SubmitTurn(Key, turnId, ResponseRequest.Parse("""{"model":"m","input":"hi"}"""u8), TurnOptions.Default, new RelayTurnOutput(relay, turnId));
        relay.Tell(new TurnRelay.Register(turnId, Key, channel.Writer, submit, region));
        region.ExpectMsg<SessionProtocol.SubmitTurn>(s => s.TurnId == turnId);
        return (relay, region, channel, submit);
    }

    [Fact]
    public async Task A_turn_no_session_accepts_is_sent_again_until_the_accept_timeout_then_ends_retryably()
    {
        var (_, region, channel, _) = Register("t1");

        Clock.Advance(ResendInterval);
        region.ExpectMsg<SessionProtocol.SubmitTurn>(s => s.TurnId == "t1");
        Clock.Advance(AcceptTimeout - ResendInterval);

        var end = Assert.IsType<TurnFinished>(await channel.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).End;
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Contains("accept-timeout", end.Reason, StringComparison.Ordinal);
        await channel.Reader.Completion.WaitAsync(TimeSpan.FromSeconds(10)); // one terminal, then nothing

        // Sent again while no session took it (the virtual clock jumped: how many ticks fired is the scheduler's), never after the end.
        var resent = region.ReceiveWhile(TimeSpan.FromMilliseconds(200), m => m as SessionProtocol.SubmitTurn);
        Assert.All(resent, r => Assert.Equal("t1", r!.TurnId));
        Clock.Advance(TimeSpan.FromMinutes(1));
        await region.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_relay_that_dies_ends_its_turns_retryably_and_cancels_them_at_their_sessions()
    {
        var (relay, region, channel, _) = Register("t3");
        var session = CreateTestProbe();
        relay.Tell(new RelayProtocol.TurnAccepted("t3"), session);
        relay.Tell(new RelayProtocol.RelayedStarted("t3", Transport.WebSocket, false), session);

        relay.Tell(Kill.Instance); // stopped by its supervisor (a failure that restarts it ends its turns the same way)

        Assert.IsType<TurnStarted>(await channel.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        var end = Assert.IsType<TurnFinished>(await channel.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).End;
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Contains("turn relay stopped", end.Reason, StringComparison.Ordinal);
        await channel.Reader.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("t3", region.ExpectMsg<SessionProtocol.CancelSessionTurn>().TurnId);

        // Its timers went with it: nothing is resent.
        Clock.Advance(AcceptTimeout * 2);
        await region.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task An_accepted_turn_is_not_sent_again_and_ends_when_its_session_goes_away()
    {
        var (relay, region, channel, _) = Register("t2");
        var session = CreateTestProbe();
        relay.Tell(new RelayProtocol.TurnAccepted("t2"), session);
        relay.Tell(new RelayProtocol.RelayedStarted("t2", Transport.WebSocket, true), session);

        Clock.Advance(AcceptTimeout + TimeSpan.FromSeconds(5));
        await region.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // accepted: neither resent nor timed out

        Sys.Stop(session);
        Assert.IsType<TurnStarted>(await channel.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        var end = Assert.IsType<TurnFinished>(await channel.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).End;
        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Equal((Transport.WebSocket, true), (end.Transport, end.Chained)); // on the transport it started on
        await channel.Reader.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
