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

    private (IActorRef Relay, TestProbe Region, Channel<TurnEvent> Channel, SessionProtocol.SubmitTurn Submit) Register(string turnId, TurnOptions? options = null)
    {
        var relay = Sys.ActorOf(TurnRelay.Props(AcceptTimeout, ResendInterval));
        var region = CreateTestProbe();
        var channel = Channel.CreateUnbounded<TurnEvent>();
        var submit = new SessionProtocol.SubmitTurn(Key, turnId, ResponseRequest.Parse("""{"model":"m","input":"hi"}"""u8), options ?? TurnOptions.Default, new RelayTurnOutput(relay, turnId));
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_pass_through_callers_relayed_text_events_arrive_as_their_bytes_only(bool passThrough)
    {
        var (relay, _, channel, _) = Register(passThrough ? "p1" : "p2", new TurnOptions { PassThrough = passThrough });
        var id = passThrough ? "p1" : "p2";
        var session = CreateTestProbe();
        relay.Tell(new RelayProtocol.TurnAccepted(id), session);
        relay.Tell(new RelayProtocol.RelayedStarted(id, Transport.WebSocket, false), session);
        string[] events =
        [
            """{"type":"response.created","response":{"id":"resp_1","status":"in_progress","output":[]}}""",
            """{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"hello"}""",
            """{"type":"response.output_item.done","output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"hello","annotations":[]}]}}""",
            """{"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[]}}""",
        ];
        relay.Tell(new RelayProtocol.RelayedEvents(id, [.. events.Select(System.Text.Encoding.UTF8.GetBytes)]), session);
        relay.Tell(new RelayProtocol.RelayedFinished(id, new TurnEnd(TurnOutcome.Completed, new TurnResult { Status = TurnStatus.Completed }, null, false, null, false, Transport.WebSocket)), session);

        var items = new List<TurnEvent>();
        await foreach (var item in channel.Reader.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token))
        {
            items.Add(item);
        }

        var delta = items.OfType<TurnUpstreamEvent>().Select(u => u.Event).Single(e => e.Type == EventTypes.OutputTextDelta);
        if (passThrough)
        {
            Assert.IsType<ReceivedEvent>(delta);
            Assert.Equal(events[1], System.Text.Encoding.UTF8.GetString(delta.ReceivedJson.Span));
        }
        else
        {
            Assert.Equal("hello", Assert.IsType<OutputTextDelta>(delta).Delta);
        }

        // Either way the caller's result has the answer (from the output item when no delta was folded).
        var end = Assert.IsType<TurnFinished>(items[^1]).End;
        Assert.Equal(("resp_1", "hello"), (end.Result.ResponseId, end.Result.Text));
    }
}
