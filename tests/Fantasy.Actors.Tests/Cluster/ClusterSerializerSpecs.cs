using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using Xunit.Abstractions;
using static Fantasy.Actors.Cluster.RelayProtocol;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Tests.Cluster;

/// <summary>Every message that can cross nodes, through the serializer Akka picks for it, and back.</summary>
public sealed class ClusterSerializerSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly SessionKey Key = new("tenant-a", "conv:1");

    public ClusterSerializerSpecs(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString("akka.actor.provider = cluster\nakka.remote.dot-netty.tcp.port = 0\nakka.remote.dot-netty.tcp.hostname = 127.0.0.1")
            .WithFallback(FantasySettings.DefaultConfig), "cluster-serializer-specs", output)
    {
    }

    private T RoundTrip<T>(T message)
        where T : notnull
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<ClusterSerializer>(serializer); // bound by fantasy.conf, not the default
        var bytes = serializer.ToBinary(message);
        var manifest = Serialization.ManifestFor(serializer, message);
        return Assert.IsType<T>(Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
    }

    [Fact]
    public void A_submitted_turn_keeps_its_request_options_and_relay()
    {
        var relay = ActorOf(Props.Empty, "relay");
        var request = ResponseRequest.Parse("""
            {"model":"gpt-x","instructions":"be brief","store":false,"temperature":0.2,"tools":[{"type":"function","name":"lookup"}],
             "input":[{"type":"message","role":"user","content":"hi"},{"type":"function_call_output","call_id":"c1","output":"42"}],
             "metadata":{"k":"v"},"prompt_cache_key":"p","some_future_field":{"x":[1,2]}}
            """u8);
        var sent = new SubmitTurn(Key, "turn-abc-1", request, new TurnOptions { PreviousResponseId = "resp_1", ResetChain = true }, new RelayTurnOutput(relay, "turn-abc-1"));

        var back = RoundTrip(sent);

        Assert.Equal(Key, back.Key);
        Assert.Equal("turn-abc-1", back.TurnId);
        Assert.Equal(sent.Options, back.Options);
        Assert.True(JsonElement.DeepEquals(request.Settings(), back.Request.Settings()));
        Assert.Equal(request.Input.Count, back.Request.Input.Count);
        Assert.All(request.Input.Zip(back.Request.Input), p => Assert.True(JsonElement.DeepEquals(p.Item1, p.Item2)));
        var output = Assert.IsType<RelayTurnOutput>(back.Out);
        Assert.Equal(relay, output.Relay);
        Assert.Equal("turn-abc-1", output.TurnId);
    }

    [Fact]
    public void A_turn_with_a_local_channel_refuses_to_cross_nodes()
    {
        var local = new SubmitTurn(Key, "t", ResponseRequest.Parse("""{"model":"m","input":"hi"}"""u8), TurnOptions.Default,
            new ChannelTurnOutput(System.Threading.Channels.Channel.CreateUnbounded<TurnEvent>().Writer));
        var ex = Assert.Throws<ArgumentException>(() => Sys.Serialization.FindSerializerFor(local).ToBinary(local));
        Assert.Contains("relay output", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_session_messages_and_answers_come_back_equal()
    {
        Assert.Equal(new TurnEventTaken(Key, "t1", 7), RoundTrip(new TurnEventTaken(Key, "t1", 7)));
        Assert.Equal(new CancelSessionTurn(Key, "t1"), RoundTrip(new CancelSessionTurn(Key, "t1")));
        Assert.Equal(new GetSessionStatus(Key), RoundTrip(new GetSessionStatus(Key)));
        Assert.Equal(new NoSuchSession(Key), RoundTrip(new NoSuchSession(Key)));
        Assert.Equal(new CloseSession(Key), RoundTrip(new CloseSession(Key)));
        Assert.Equal(new SessionClosed(Key, true), RoundTrip(new SessionClosed(Key, true)));
        Assert.Same(StopSession.Instance, RoundTrip(StopSession.Instance));
        var status = new SessionStatus(Key.SessionId, 3, ConnectionState.Open, TimeSpan.FromSeconds(42.5), true, 12, 1, 2, 0, 1, true, Transport.WebSocket, "websocket ok", 5, 1234);
        Assert.Equal(status, RoundTrip(status));
        var fresh = new SessionStatus(Key.SessionId, 0, ConnectionState.None, null, null, 0, 0, 0, 0, 0, false, Transport.None, "");
        Assert.Equal(fresh, RoundTrip(fresh));
        var connecting = status with { ConnectionState = ConnectionState.Connecting };
        Assert.Equal(connecting, RoundTrip(connecting));

        Assert.Equal(new SessionAdmission.Admit("tenant-a", Key.SessionId, 25), RoundTrip(new SessionAdmission.Admit("tenant-a", Key.SessionId, 25)));
        Assert.Equal(new SessionAdmission.Admitted(false, 25), RoundTrip(new SessionAdmission.Admitted(false, 25)));
        Assert.Equal(new SessionAdmission.Released("tenant-a", Key.SessionId), RoundTrip(new SessionAdmission.Released("tenant-a", Key.SessionId)));
    }

    [Fact]
    public void A_relayed_event_batch_cut_short_is_a_serialization_error_not_a_wrong_event()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(new RelayedEvents("t", [[1, 2, 3]]));
        var whole = serializer.ToBinary(new RelayedEvents("t", ["""{"type":"a"}"""u8.ToArray(), """{"type":"b"}"""u8.ToArray()]));
        var manifest = serializer.Manifest(new RelayedEvents("t", []));
        Assert.Equal(2, ((RelayedEvents)serializer.FromBinary(whole, manifest)).Events.Count);
        foreach (var cut in new[] { whole.Length - 1, whole.Length - 13, 4 })
        {
            Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(whole[..cut], manifest));
        }
    }

    [Fact]
    public async Task A_relay_output_towards_another_node_batches_events_until_flushed_and_keeps_their_order()
    {
        var relay = CreateTestProbe();
        var output = new RelayTurnOutput(relay.Ref, "t-batch", batch: true);
        static TurnUpstreamEvent Delta(string text) =>
            new(EventParser.Parse(System.Text.Encoding.UTF8.GetBytes($$"""{"type":"response.output_text.delta","item_id":"m","output_index":0,"content_index":0,"delta":"{{text}}"}"""), keepRaw: true));

        output.TryWrite(new TurnStarted(Transport.WebSocket, true));
        Assert.Equal("t-batch", relay.ExpectMsg<RelayedStarted>().TurnId);
        output.TryWrite(Delta("a"));
        output.TryWrite(Delta("b"));
        output.TryWrite(Delta("c"));
        Assert.True(output.HasBuffered);
        await relay.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));

        output.Flush();
        var first = relay.ExpectMsg<RelayedEvents>();
        Assert.Equal(["a", "b", "c"], first.Events.Select(e => ((OutputTextDelta)EventParser.Parse(e, keepRaw: false)).Delta));
        Assert.False(output.HasBuffered);
        output.Flush();
        await relay.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // nothing waiting, nothing sent

        // One event alone goes as a single event; a terminal flushes what waits before itself.
        output.TryWrite(Delta("d"));
        output.Flush();
        Assert.Equal("d", ((OutputTextDelta)EventParser.Parse(relay.ExpectMsg<RelayedEvent>().Json, keepRaw: false)).Delta);
        output.TryWrite(Delta("e"));
        output.TryWrite(new TurnFinished(TurnEnd.Failed("x", retryable: true)));
        Assert.Equal("e", ((OutputTextDelta)EventParser.Parse(relay.ExpectMsg<RelayedEvent>().Json, keepRaw: false)).Delta);
        relay.ExpectMsg<RelayedFinished>();

        // Past MaxBatchBytes the waiting events go without a flush.
        var big = new string('x', 100_000);
        for (var i = 0; i < 3; i++)
        {
            output.TryWrite(Delta(big));
        }

        Assert.Equal(3, relay.ExpectMsg<RelayedEvents>().Events.Count);
        Assert.False(output.HasBuffered);
    }

    [Fact]
    public void The_relayed_turn_messages_come_back_equal()
    {
        Assert.Equal(new TurnAccepted("t1"), RoundTrip(new TurnAccepted("t1")));
        Assert.Equal(new RelayedStarted("t1", Transport.Http, true), RoundTrip(new RelayedStarted("t1", Transport.Http, true)));

        var json = """{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"h\u00e9\n"}"""u8.ToArray();
        var relayed = RoundTrip(new RelayedEvent("turn-x-9", json));
        Assert.Equal("turn-x-9", relayed.TurnId);
        Assert.Equal(json, relayed.Json);

        byte[][] events = [json, """{"type":"response.in_progress"}"""u8.ToArray(), [], new byte[70_000]];
        var batch = RoundTrip(new RelayedEvents("turn-x-10", events));
        Assert.Equal("turn-x-10", batch.TurnId);
        Assert.Equal(events.Length, batch.Events.Count);
        Assert.All(events.Zip(batch.Events), p => Assert.Equal(p.Item1, p.Item2));

        var error = new UpstreamError(ErrorOrigin.HttpResponse, 429, "rate_limit_error", "rate_limit_exceeded", "slow down", "model",
            new Dictionary<string, string> { ["retry-after-ms"] = "250", ["x-request-id"] = "req_1" }) { StreamId = "s1", SequenceNumber = 4 };
        var end = TurnEnd.Failed("upstream said no", retryable: true, error: error) with
        {
            Metadata = new Dictionary<string, string> { ["x-request-id"] = "req_1" },
            Diagnostics = new TurnDiagnostics(1, 3, 2048, "websocket refused (426)"),
        };
        var back = RoundTrip(new RelayedFinished("t1", end)).End;
        Assert.Equal((end.Outcome, end.Retryable, end.Reason, end.Chained, end.Transport, end.Rejection), (back.Outcome, back.Retryable, back.Reason, back.Chained, back.Transport, back.Rejection));
        Assert.Equal(end.Result.Status, back.Result.Status);
        Assert.Equal(error, back.Error);
        Assert.Equal(error.Classification, back.Error!.Classification);
        Assert.Equal(TimeSpan.FromMilliseconds(250), back.Error.GetRetryAfter(DateTimeOffset.UtcNow));
        Assert.Equal((error.StreamId, error.SequenceNumber, error.Param, error.Type), (back.Error.StreamId, back.Error.SequenceNumber, back.Error.Param, back.Error.Type));
        Assert.Equal("req_1", back.Metadata["x-request-id"]);
        Assert.Equal(end.Diagnostics, back.Diagnostics);

        var rejected = TurnEnd.Rejected(Rejection.QueueFull, "full");
        var rejectedBack = RoundTrip(new RelayedFinished("t2", rejected)).End;
        Assert.Equal((TurnOutcome.Rejected, Rejection.QueueFull, "full", (UpstreamError?)null), (rejectedBack.Outcome, rejectedBack.Rejection, rejectedBack.Reason, rejectedBack.Error));
    }
}
