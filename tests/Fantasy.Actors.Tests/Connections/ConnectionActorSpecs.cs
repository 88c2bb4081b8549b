using Fantasy.Actors.Configuration;
using Fantasy.Actors.Streams;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;
using Xunit.Abstractions;
using static Fantasy.Actors.Connections.ConnectionProtocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Connections;

public sealed class ConnectionActorSpecs : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    // Timers (connect timeout, watchdog, close timeout) run on virtual time; I/O is real, on loopback.
    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = INFO
        """);

    private readonly WebSocketConnector connector = new();
    private ResponsesSimulator sim = null!;

    public ConnectionActorSpecs(ITestOutputHelper output)
        : base(TestConfig, "connection-specs", output)
    {
    }

    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync();

    public async Task DisposeAsync()
    {
        await sim.DisposeAsync();
        connector.Dispose();
    }

    private ConnectionOptions Options(ResponsesSimulator? upstream = null, long epoch = 1, string key = "sk-test") =>
        new((upstream ?? sim).WebSocketUrl, new UpstreamCredentials(key, "org-1", "proj-1"), epoch,
            ConnectTimeout: TimeSpan.FromSeconds(10),
            MaxMessageSize: 4 * 1024 * 1024,
            KeepAliveInterval: TimeSpan.Zero,
            TurnWatchdog: TimeSpan.FromMinutes(5),
            OpenAIBeta: "responses_websockets=2026-02-06",
            UserAgent: "Fantasy.Actors.Tests");

    private IActorRef Start(TestProbe parent, ConnectionOptions options) =>
        Sys.ActorOf(ConnectionActor.Props(options, parent.Ref, connector));

    private async Task<IActorRef> ConnectAsync(TestProbe parent, ConnectionOptions? options = null)
    {
        var connection = Start(parent, options ?? Options());
        var connected = await parent.ExpectMsgAsync<Connected>(Patience);
        Assert.Equal((options ?? Options()).Epoch, connected.Epoch);
        return connection;
    }

    /// <summary>Reads a whole turn from the reply-to probe: its events, then the parent's TurnEnded.</summary>
    private static async Task<(List<UpstreamEventReceived> Events, TurnEnded Ended)> ReadTurnAsync(TestProbe parent, TestProbe replyTo, string turnId, int alreadyRead = 0)
    {
        var ended = await parent.FishForMessageAsync<TurnEnded>(m => m is TurnEnded e && e.TurnId == turnId, Patience);
        var events = new List<UpstreamEventReceived>();
        for (var i = alreadyRead; i < ended.EventsForwarded; i++)
        {
            events.Add(await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience));
        }

        return (events, ended);
    }

    [Fact]
    public async Task ConnectionActor_should_connect_with_the_configured_headers()
    {
        var parent = CreateTestProbe();
        await ConnectAsync(parent);

        Assert.Equal(1, sim.Counters.ConnectionsOpened);
        var headers = sim.Counters.LastHandshakeHeaders;
        Assert.Equal("Bearer sk-test", headers["Authorization"]);
        Assert.Equal("org-1", headers["OpenAI-Organization"]);
        Assert.Equal("proj-1", headers["OpenAI-Project"]);
        Assert.Equal("responses_websockets=2026-02-06", headers["OpenAI-Beta"]);
        Assert.Equal("Fantasy.Actors.Tests", headers["User-Agent"]);
    }

    [Fact]
    public async Task ConnectionActor_should_report_401_with_the_parsed_error_body_and_stop()
    {
        await using var keyed = await ResponsesSimulator.StartAsync(new SimulatorOptions { ApiKeys = ["sk-right"] });
        var parent = CreateTestProbe();
        var connection = Start(parent, Options(keyed, key: "sk-wrong"));
        Watch(connection);

        var failed = await parent.ExpectMsgAsync<ConnectFailed>(Patience);
        Assert.Equal(401, failed.Status);
        Assert.Equal("invalid_api_key", failed.Error.Code);
        Assert.Equal(ErrorClass.Fatal, failed.Error.Classification);
        Assert.False(failed.TimedOut);
        Assert.False(failed.UpgradeRequired);
        await parent.ExpectMsgAsync<ConnectionClosed>(Patience);
        await ExpectTerminatedAsync(connection, Patience);
    }

    [Fact]
    public async Task ConnectionActor_should_report_426_as_upgrade_required()
    {
        sim.Faults.RefuseUpgrades(new HttpFault(426));
        var parent = CreateTestProbe();
        Start(parent, Options());

        var failed = await parent.ExpectMsgAsync<ConnectFailed>(Patience);
        Assert.True(failed.UpgradeRequired);
        Assert.Equal("upgrade_required", failed.Error.Code);
        Assert.Equal(ErrorClass.ReplaySafe, failed.Error.Classification);
    }

    [Fact]
    public async Task ConnectionActor_should_report_429_with_its_retry_after()
    {
        sim.Faults.RefuseUpgrades(new HttpFault(429, RetryAfter: TimeSpan.FromSeconds(7)));
        var parent = CreateTestProbe();
        Start(parent, Options());

        var failed = await parent.ExpectMsgAsync<ConnectFailed>(Patience);
        Assert.Equal(429, failed.Status);
        Assert.Equal(TimeSpan.FromSeconds(7), failed.RetryAfter);
    }

    [Fact]
    public async Task ConnectionActor_should_time_out_against_a_port_that_accepts_and_never_answers()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = Start(parent, Options() with { Url = new Uri($"ws://127.0.0.1:{port}/v1/responses") });
        using var accepted = await silent.AcceptSocketAsync();

        // A turn that arrives while connecting waits; it is handed back unsent when the connect fails.
        connection.Tell(new StartTurn("t1", Frame(User("hi")), replyTo.Ref));
        await Task.Yield();
        Clock.Advance(TimeSpan.FromSeconds(10));

        var failed = await parent.ExpectMsgAsync<ConnectFailed>(Patience);
        Assert.True(failed.TimedOut);
        Assert.Equal(ErrorOrigin.Transport, failed.Error.Origin);
        var interrupted = await parent.ExpectMsgAsync<TurnInterrupted>(Patience);
        Assert.Equal("t1", interrupted.TurnId);
        Assert.False(interrupted.FrameSent);
        Assert.Equal(0, interrupted.EventsForwarded);
        await parent.ExpectMsgAsync<ConnectionClosed>(Patience);
    }

    [Fact]
    public async Task ConnectionActor_should_report_a_closed_port_as_a_transport_failure()
    {
        using var probeListener = new TcpListener(IPAddress.Loopback, 0);
        probeListener.Start();
        var port = ((IPEndPoint)probeListener.LocalEndpoint).Port;
        probeListener.Stop();
        var parent = CreateTestProbe();
        Start(parent, Options() with { Url = new Uri($"ws://127.0.0.1:{port}/v1/responses") });

        var failed = await parent.ExpectMsgAsync<ConnectFailed>(Patience);
        Assert.False(failed.TimedOut);
        Assert.Equal(ErrorOrigin.Transport, failed.Error.Origin);
        Assert.True(failed.Error.IsReplaySafe);
    }

    [Fact]
    public async Task ConnectionActor_should_forward_a_text_turn_in_order_and_end_it_once()
    {
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("hello")), replyTo.Ref));
        var (events, ended) = await ReadTurnAsync(parent, replyTo, "t1");

        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Index));
        Assert.All(events, e => Assert.Equal("t1", e.TurnId));
        Assert.IsType<ResponseCreated>(events[0].Event);
        Assert.IsType<ResponseCompleted>(events[^1].Event);
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long?)i), events.Select(e => e.Event.SequenceNumber));
        Assert.Equal(TurnStatus.Completed, ended.Result.Status);
        Assert.Equal("ok: 1", ended.Result.Text);
        Assert.Equal(1, ended.Epoch);
        await replyTo.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task ConnectionActor_should_report_the_frame_as_sent()
    {
        var parent = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("hello")), CreateTestProbe().Ref));
        var sent = await parent.FishForMessageAsync<TurnSent>(m => m is TurnSent, Patience);
        Assert.Equal("t1", sent.TurnId);
    }

    [Fact]
    public async Task ConnectionActor_should_forward_a_function_call_turn()
    {
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("CALL lookup 2")), replyTo.Ref));
        var (events, ended) = await ReadTurnAsync(parent, replyTo, "t1");

        Assert.Equal(FinishReason.ToolCalls, ended.Result.FinishReason);
        Assert.Equal(2, ended.Result.FunctionCalls.Count);
        Assert.Contains(events, e => e.Event is FunctionCallArgumentsDelta);
    }

    [Fact]
    public async Task ConnectionActor_should_run_turns_back_to_back_on_one_socket()
    {
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);
        string? previous = null;

        for (var i = 1; i <= 3; i++)
        {
            var request = Request(User($"turn {i}"));
            connection.Tell(new StartTurn($"t{i}", request.ToWebSocketFrame(previous, request.Input), replyTo.Ref));
            var (_, ended) = await ReadTurnAsync(parent, replyTo, $"t{i}");
            Assert.Equal($"ok: {(2 * i) - 1}", ended.Result.Text);
            previous = ended.Result.ResponseId;
        }

        Assert.Equal(1, sim.Counters.ConnectionsOpened);
        Assert.Equal(2, sim.Counters.ChainedRequests);
    }

    [Fact]
    public async Task ConnectionActor_should_refuse_a_second_turn_while_busy()
    {
        sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(20);
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("slow")), replyTo.Ref));
        connection.Tell(new StartTurn("t2", Frame(User("second")), replyTo.Ref), TestActor);

        var refused = await ExpectMsgAsync<TurnRefused>(Patience);
        Assert.Equal("t2", refused.TurnId);
        Assert.Equal(RefusalCause.Busy, refused.Cause);
        var (_, ended) = await ReadTurnAsync(parent, replyTo, "t1");
        Assert.Equal("ok: 1", ended.Result.Text);
    }

    [Fact]
    public async Task ConnectionActor_should_reassemble_a_message_split_over_many_frames()
    {
        sim.Faults.FragmentBytes = 7;
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("CALL f 3")), replyTo.Ref));
        var (_, ended) = await ReadTurnAsync(parent, replyTo, "t1");

        Assert.Equal(3, ended.Result.FunctionCalls.Count);
        Assert.Equal("""{"index":2,"of":3}""", ended.Result.FunctionCalls[2].Arguments);
    }

    [Fact]
    public async Task ConnectionActor_should_interrupt_the_turn_on_an_oversized_message()
    {
        sim.Faults.SendOversizedFrame(256 * 1024);
        var parent = CreateTestProbe();
        var connection = await ConnectAsync(parent, Options() with { MaxMessageSize = 64 * 1024 });
        Watch(connection);

        connection.Tell(new StartTurn("t1", Frame(User("a")), CreateTestProbe().Ref));
        var interrupted = await parent.FishForMessageAsync<TurnInterrupted>(m => m is TurnInterrupted, Patience);

        Assert.Equal(1, interrupted.EventsForwarded);
        Assert.True(interrupted.FrameSent);
        Assert.Equal(ConnectionCause.MalformedMessage, interrupted.Cause);
        Assert.Contains("65536-byte limit", interrupted.Reason, StringComparison.Ordinal); // the reason names the limit for the log
        await parent.FishForMessageAsync<ConnectionClosed>(m => m is ConnectionClosed, Patience);
        await ExpectTerminatedAsync(connection, Patience);
    }

    [Fact]
    public async Task ConnectionActor_should_interrupt_the_turn_on_malformed_json()
    {
        sim.Faults.SendMalformedFrame();
        var parent = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("a")), CreateTestProbe().Ref));
        var interrupted = await parent.FishForMessageAsync<TurnInterrupted>(m => m is TurnInterrupted, Patience);

        Assert.Equal(1, interrupted.EventsForwarded);
        Assert.Equal(ConnectionCause.MalformedMessage, interrupted.Cause);
    }

    [Fact]
    public async Task ConnectionActor_should_report_how_many_events_were_forwarded_when_the_server_drops_the_socket()
    {
        sim.Faults.CloseAfterEvents(4);
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);
        Watch(connection);

        connection.Tell(new StartTurn("t1", Frame(User("a")), replyTo.Ref));
        var interrupted = await parent.FishForMessageAsync<TurnInterrupted>(m => m is TurnInterrupted, Patience);

        Assert.True(4 == interrupted.EventsForwarded, interrupted.Reason);
        Assert.True(interrupted.FrameSent);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(i, (await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience)).Index);
        }

        await parent.FishForMessageAsync<ConnectionClosed>(m => m is ConnectionClosed, Patience);
        await ExpectTerminatedAsync(connection, Patience);
        await replyTo.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task ConnectionActor_should_interrupt_a_turn_that_goes_silent_for_the_watchdog_time()
    {
        sim.Faults.Stall(TimeSpan.FromHours(1));
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("a")), replyTo.Ref));
        await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);

        Clock.Advance(TimeSpan.FromMinutes(4));
        await parent.FishForMessageAsync<TurnSent>(m => m is TurnSent, Patience);
        await parent.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromMinutes(2));

        var interrupted = await parent.ExpectMsgAsync<TurnInterrupted>(Patience);
        Assert.Equal(1, interrupted.EventsForwarded);
        Assert.Equal(ConnectionCause.Watchdog, interrupted.Cause);
        Assert.Equal(ConnectionCause.Watchdog, (await parent.ExpectMsgAsync<ConnectionClosed>(Patience)).Cause);
    }

    [Fact]
    public async Task ConnectionActor_should_discard_the_socket_when_a_turn_is_cancelled()
    {
        sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(30);
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);
        Watch(connection);

        connection.Tell(new StartTurn("t1", Frame(User("a long answer")), replyTo.Ref));
        await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
        await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
        connection.Tell(new CancelTurn("t1"));

        var cancelled = await parent.FishForMessageAsync<TurnCancelled>(m => m is TurnCancelled, Patience);
        Assert.True(cancelled.EventsForwarded >= 2);
        var closed = await parent.ExpectMsgAsync<ConnectionClosed>(Patience);
        Assert.Equal(ConnectionCause.TurnCancelled, closed.Cause);
        await ExpectTerminatedAsync(connection, Patience);

        // Nothing of the cancelled turn leaks into the next connection's turn.
        var nextReplyTo = CreateTestProbe();
        var next = await ConnectAsync(parent, Options(epoch: 2));
        next.Tell(new StartTurn("t2", Frame(User("next")), nextReplyTo.Ref));
        var (events, ended) = await ReadTurnAsync(parent, nextReplyTo, "t2");
        Assert.All(events, e => Assert.Equal("t2", e.TurnId));
        Assert.Equal("ok: 1", ended.Result.Text);
        await nextReplyTo.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task ConnectionActor_should_report_an_error_pushed_to_an_idle_socket_and_close()
    {
        await using var aged = await ResponsesSimulator.StartAsync(new SimulatorOptions { ConnectionLifetime = TimeSpan.Zero, PushLimitErrorWhenIdle = true });
        var parent = CreateTestProbe();
        var connection = Start(parent, Options(aged));
        Watch(connection);
        await parent.ExpectMsgAsync<Connected>(Patience);

        var idle = await parent.ExpectMsgAsync<IdleError>(Patience);
        Assert.Equal(UpstreamError.ConnectionLimitReached, idle.Error.Code);
        Assert.True(idle.Error.IsReplaySafe);
        var closed = await parent.ExpectMsgAsync<ConnectionClosed>(Patience);
        Assert.Equal(ConnectionCause.IdleError, closed.Cause);
        Assert.Contains("websocket_connection_limit_reached", closed.Reason, StringComparison.Ordinal); // the log names the code
        await ExpectTerminatedAsync(connection, Patience);
    }

    [Fact]
    public async Task ConnectionActor_should_close_normally_when_idle()
    {
        var parent = CreateTestProbe();
        var connection = await ConnectAsync(parent);
        Watch(connection);

        connection.Tell(ConnectionProtocol.Close.Instance);
        var closed = await parent.ExpectMsgAsync<ConnectionClosed>(Patience);

        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.CloseStatus);
        await ExpectTerminatedAsync(connection, Patience);
        await AwaitConditionAsync(() => Task.FromResult(sim.Counters.ConnectionsOpen == 0), Patience);
    }

    [Fact]
    public async Task ConnectionActor_should_close_after_the_running_turn_when_asked_while_busy()
    {
        sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(10);
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);
        Watch(connection);

        connection.Tell(new StartTurn("t1", Frame(User("a")), replyTo.Ref));
        await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
        connection.Tell(ConnectionProtocol.Close.Instance);

        var (_, ended) = await ReadTurnAsync(parent, replyTo, "t1", alreadyRead: 1);
        Assert.Equal(TurnStatus.Completed, ended.Result.Status);
        var closed = await parent.ExpectMsgAsync<ConnectionClosed>(Patience);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.CloseStatus);
        await ExpectTerminatedAsync(connection, Patience);
    }

    [Fact]
    public async Task ConnectionActor_should_close_its_socket_when_stopped_mid_turn()
    {
        sim.Faults.PerEventLatency = TimeSpan.FromMilliseconds(50);
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);
        await AwaitConditionAsync(() => Task.FromResult(sim.Counters.ConnectionsOpen == 1), Patience);

        connection.Tell(new StartTurn("t1", Frame(User("a")), replyTo.Ref));
        await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
        Sys.Stop(connection);

        var interrupted = await parent.FishForMessageAsync<TurnInterrupted>(m => m is TurnInterrupted, Patience);
        Assert.Equal(ConnectionCause.Stopped, interrupted.Cause);
        Assert.Equal(ConnectionCause.Stopped, (await parent.ExpectMsgAsync<ConnectionClosed>(Patience)).Cause);
        await AwaitConditionAsync(() => Task.FromResult(sim.Counters.ConnectionsOpen == 0), Patience);
    }

    [Fact]
    public async Task ConnectionActor_should_not_read_past_a_full_consumer_window()
    {
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        connection.Tell(new StartTurn("t1", Frame(User("CALL f 2")), replyTo.Ref, ConsumerWindow: 2));
        await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
        await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
        await replyTo.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        var seen = 2;
        connection.Tell(new EventConsumed("t1"));
        connection.Tell(new EventConsumed("t1"));
        while (true)
        {
            var e = await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
            seen++;
            connection.Tell(new EventConsumed("t1"));
            if (e.Event is ResponseCompleted)
            {
                break;
            }
        }

        var ended = await parent.FishForMessageAsync<TurnEnded>(m => m is TurnEnded, Patience);
        Assert.Equal(seen, ended.EventsForwarded);
        Assert.Equal(2, ended.Result.FunctionCalls.Count);
    }

    [Fact]
    public async Task ConnectionActor_should_not_read_past_a_consumer_window_full_in_bytes()
    {
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        // About 1 MiB of text in 16 KiB deltas, a 64 KiB byte window and a generous event window: the bytes bound.
        connection.Tell(new StartTurn("t1", Frame(User("LONG 1024")), replyTo.Ref, ConsumerWindow: 256, ConsumerWindowBytes: 64 * 1024));
        var sent = new List<UpstreamEventReceived>();
        var bytes = 0L;
        while (bytes < 64 * 1024)
        {
            var e = await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
            sent.Add(e);
            bytes += e.Event.ReceivedBytes;
        }

        // The window is full: nothing more is forwarded (the socket is not read) until the consumer takes some.
        Assert.InRange(sent.Count, 4, 8);
        await replyTo.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        var seen = sent.Count;
        connection.Tell(new EventConsumed("t1", sent.Count));
        while (true)
        {
            var e = await replyTo.ExpectMsgAsync<UpstreamEventReceived>(Patience);
            seen++;
            connection.Tell(new EventConsumed("t1"));
            if (e.Event is ResponseCompleted completed)
            {
                Assert.True(completed.ReceivedBytes > 1024 * 1024);
                break;
            }
        }

        var ended = await parent.FishForMessageAsync<TurnEnded>(m => m is TurnEnded, Patience);
        Assert.Equal(seen, ended.EventsForwarded);
        Assert.EndsWith("ok: 1", ended.Result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unread_window_is_full_at_its_event_or_byte_bound_but_always_lets_one_event_through()
    {
        var window = new UnreadWindow(maxEvents: 3, maxBytes: 100);
        Assert.False(window.Full);
        window.Sent(500); // one event larger than the whole byte bound still goes
        Assert.True(window.Full);
        window.Consumed(1);
        Assert.False(window.Full);
        Assert.Equal(0, window.Bytes);
        window.Sent(10);
        window.Sent(10);
        window.Sent(10);
        Assert.True(window.Full); // the event bound
        window.Consumed(2);
        Assert.Equal(10, window.Bytes);
        Assert.False(window.Full);
        window.Consumed(5); // more than outstanding: never negative
        Assert.Equal(0, window.Events);
        Assert.Equal(0, window.Bytes);
    }

    [Fact]
    public async Task ConnectionActor_should_send_a_large_request_as_one_message_of_several_frames()
    {
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = await ConnectAsync(parent);

        // Well over one send frame (64 KiB): sent in frames, reassembled by the server as one message.
        var instructions = string.Concat(Enumerable.Repeat("Follow the house style. ", 12_000));
        var request = new ResponseRequest { Model = "m", Instructions = instructions, Input = [User("hi")] };
        var frame = request.ToWebSocketFrame(null, request.Input);
        Assert.True(frame.Length > 4 * ConnectionActor.MaxSendFrame);
        connection.Tell(new StartTurn("t1", frame, replyTo.Ref));

        var ended = await parent.FishForMessageAsync<TurnEnded>(m => m is TurnEnded, Patience);
        Assert.Equal(TurnStatus.Completed, ended.Result.Status);
        Assert.Equal("ok: 1", ended.Result.Text);
        Assert.Equal(frame.Length, sim.Counters.WebSocketBytesReceived);
    }

    [Fact]
    public async Task ConnectionActor_should_never_show_the_key_in_its_options()
    {
        var options = Options(key: "sk-secret-value");
        Assert.DoesNotContain("sk-secret-value", options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-secret-value", options.Credentials.ToString(), StringComparison.Ordinal);
        await Task.CompletedTask;
    }
}
