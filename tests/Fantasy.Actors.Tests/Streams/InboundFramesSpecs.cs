using Fantasy.Actors.Streams;
using System.Net.WebSockets;
using System.Text;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Fantasy.Actors.Protocol;
using Xunit.Abstractions;

namespace Fantasy.Actors.Tests.Streams;

/// <summary>The frame → event flow on its own, driven element by element with stream probes.</summary>
public sealed class InboundFramesSpecs : Akka.TestKit.Xunit2.TestKit
{
    private readonly IMaterializer materializer;

    public InboundFramesSpecs(ITestOutputHelper output)
        : base(Akka.Configuration.Config.Empty, "inbound-frames-specs", output)
    {
        materializer = Sys.Materializer();
    }

    private static RawMessage Message(string json, WebSocketMessageType type = WebSocketMessageType.Text) =>
        RawMessage.Text(Encoding.UTF8.GetBytes(json), type);

    private (TestPublisher.Probe<object> Up, TestSubscriber.Probe<object> Down) Materialize() =>
        this.SourceProbe<object>()
            .Via(InboundFrames.Parse())
            .ToMaterialized(this.SinkProbe<object>(), Keep.Both)
            .Run(materializer);

    [Fact]
    public void Message_buffers_above_a_MiB_are_not_kept_by_the_shared_pool()
    {
        var small = MessageBuffers.Rent(64 * 1024);
        MessageBuffers.Return(small);
        Assert.Same(small, MessageBuffers.Rent(64 * 1024)); // pooled: the same thread gets it back

        var large = MessageBuffers.Rent(MessageBuffers.PooledMax + 1);
        Assert.Equal(MessageBuffers.PooledMax + 1, large.Length); // exact, not rounded up to a pool bucket
        MessageBuffers.Return(large);
        Assert.NotSame(large, MessageBuffers.Rent(MessageBuffers.PooledMax + 1));
    }

    [Fact]
    public async Task Parse_should_turn_each_whole_message_into_one_event_in_order()
    {
        // A stage left running when the spec ends fails it.
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var (up, down) = Materialize();
            await down.RequestAsync(3);
            await up.SendNextAsync(Message("""{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"""));
            await up.SendNextAsync(Message("""{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}"""));
            await up.SendNextAsync(Message("""{"type":"response.vendor_extra","sequence_number":2,"x":1}"""));

            var created = Assert.IsType<ResponseCreated>(await down.ExpectNextAsync());
            Assert.Equal("resp_1", created.Response.Id);
            var delta = Assert.IsType<OutputTextDelta>(await down.ExpectNextAsync());
            Assert.Equal("Hi", delta.Delta);
            var unknown = Assert.IsType<UnknownEvent>(await down.ExpectNextAsync());
            Assert.Equal("response.vendor_extra", unknown.Type);

            await up.SendCompleteAsync();
            await down.ExpectCompleteAsync();
        }, materializer);
    }

    [Fact]
    public async Task Parse_should_pull_upstream_only_when_downstream_asks()
    {
        // A stage left running when the spec ends fails it.
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            // One-element buffers, as tight as the connection's read-ahead gets: demand is visible element by element.
            var (up, down) = this.SourceProbe<object>()
                .Via(InboundFrames.Parse())
                .ToMaterialized(this.SinkProbe<object>(), Keep.Both)
                .Run(Sys.Materializer(ActorMaterializerSettings.Create(Sys).WithInputBuffer(1, 1)));
            await down.EnsureSubscriptionAsync();

            // Before any downstream demand, at most the one-element input buffer is requested.
            Assert.Equal(1, await up.ExpectRequestAsync());
            await up.SendNextAsync(Message("""{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"""));

            // That element waits for the consumer; nothing more is requested from the socket side.
            await up.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
            await down.RequestAsync(1);
            Assert.IsType<ResponseInProgress>(await down.ExpectNextAsync());
            Assert.Equal(1, await up.ExpectRequestAsync());

            await up.SendCompleteAsync();
            await down.ExpectCompleteAsync();
        }, materializer);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("""{"type":"response.output_text.delta","delta":""")]
    [InlineData("""["an","array"]""")]
    [InlineData("""{"no_type":true}""")]
    public async Task Parse_should_end_with_a_fault_on_bad_json_and_release_later_input(string bad)
    {
        // A stage left running when the spec ends fails it.
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var (up, down) = Materialize();
            await down.RequestAsync(5);
            await up.SendNextAsync(Message("""{"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"a"}"""));
            await up.SendNextAsync(Message(bad));

            Assert.IsType<OutputTextDelta>(await down.ExpectNextAsync());
            var fault = Assert.IsType<InboundFault>(await down.ExpectNextAsync());
            Assert.IsType<ProtocolException>(fault.Cause);

            // The flow completes after the fault and cancels its upstream: nothing after the fault is read.
            await down.ExpectCompleteAsync();
            await up.ExpectCancellationAsync();
        }, materializer);
    }

    [Fact]
    public async Task Parse_should_treat_a_binary_message_as_a_protocol_fault()
    {
        // A stage left running when the spec ends fails it.
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var (up, down) = Materialize();
            await down.RequestAsync(2);
            await up.SendNextAsync(Message("""{"type":"response.created"}""", WebSocketMessageType.Binary));

            var fault = Assert.IsType<InboundFault>(await down.ExpectNextAsync());
            Assert.Contains("Binary", fault.Cause.Message, StringComparison.Ordinal);
            await down.ExpectCompleteAsync();
        }, materializer);
    }

    [Fact]
    public async Task Parse_should_pass_a_read_fault_through_in_order_and_stop()
    {
        // A stage left running when the spec ends fails it.
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var (up, down) = Materialize();
            await down.RequestAsync(3);
            await up.SendNextAsync(Message("""{"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"a"}"""));
            var socketError = new WebSocketException(WebSocketError.ConnectionClosedPrematurely);
            await up.SendNextAsync(new InboundFault(socketError));

            Assert.IsType<OutputTextDelta>(await down.ExpectNextAsync());
            Assert.Same(socketError, Assert.IsType<InboundFault>(await down.ExpectNextAsync()).Cause);
            await down.ExpectCompleteAsync();
        }, materializer);
    }

    [Fact]
    public async Task Parse_should_return_every_buffer_it_parsed()
    {
        // A stage left running when the spec ends fails it.
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var messages = Enumerable.Range(0, 50)
                .Select(i => Message($$"""{"type":"response.output_text.delta","sequence_number":{{i}},"item_id":"m","output_index":0,"content_index":0,"delta":"x"}"""))
                .ToList();

            var events = await Source.From(messages.Cast<object>()).Via(InboundFrames.Parse()).RunWith(Sink.Seq<object>(), materializer);

            Assert.Equal(50, events.Count);
            Assert.All(messages, m => Assert.True(m.Released));
        }, materializer);
    }

    /// <summary>Two ends of a WebSocket over a loopback TCP connection; the client end records its receives.</summary>
    private static async Task<(WebSocket Server, RecordingSocket Client)> SocketPairAsync()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var client = new System.Net.Sockets.TcpClient();
        var accepting = listener.AcceptTcpClientAsync();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
        var server = await accepting;
        return (
            WebSocket.CreateFromStream(server.GetStream(), new WebSocketCreationOptions { IsServer = true }),
            new RecordingSocket(WebSocket.CreateFromStream(client.GetStream(), new WebSocketCreationOptions { IsServer = false })));
    }

    [Fact]
    public async Task Source_should_hold_no_buffer_between_messages_and_reassemble_fragments()
    {
        var (server, client) = await SocketPairAsync();
        using var serverSocket = server;
        using var clientSocket = client;
        var down = InboundFrames.From(client, 1024 * 1024, CancellationToken.None)
            .RunWith(this.SinkProbe<object>(), materializer);

        // Idle: the pending receive asks for no bytes, so no buffer is rented while nothing arrives.
        down.Request(1);
        await AwaitConditionAsync(() => Task.FromResult(client.PendingReceiveLength == 0));

        // One message in three frames, then an empty message, then a whole one.
        await server.SendAsync("{\"type\":"u8.ToArray(), WebSocketMessageType.Text, false, default);
        await server.SendAsync("\"response"u8.ToArray(), WebSocketMessageType.Text, false, default);
        await server.SendAsync(".created\"}"u8.ToArray(), WebSocketMessageType.Text, true, default);
        var first = Assert.IsType<RawMessage>(await down.ExpectNextAsync());
        Assert.Equal("{\"type\":\"response.created\"}", Encoding.UTF8.GetString(first.Span));
        first.Release();

        await server.SendAsync(Array.Empty<byte>(), WebSocketMessageType.Text, true, default);
        await server.SendAsync("{\"a\":1}"u8.ToArray(), WebSocketMessageType.Text, true, default);
        down.Request(2);
        var empty = Assert.IsType<RawMessage>(await down.ExpectNextAsync());
        Assert.Equal(0, empty.Length);
        empty.Release();
        var last = Assert.IsType<RawMessage>(await down.ExpectNextAsync());
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(last.Span));
        last.Release();

        // Idle again after the messages: the wait for the next one holds no buffer either.
        down.Request(1);
        await AwaitConditionAsync(() => Task.FromResult(client.PendingReceiveLength == 0));
        await server.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", default);
        await down.ExpectCompleteAsync();
    }

    /// <summary>A real WebSocket that notes the buffer length of a receive that has to wait (-1 when none waits).</summary>
    private sealed class RecordingSocket(WebSocket inner) : WebSocket
    {
        private volatile int pendingReceiveLength = -1;

        public int PendingReceiveLength => pendingReceiveLength;

        public override WebSocketCloseStatus? CloseStatus => inner.CloseStatus;

        public override string? CloseStatusDescription => inner.CloseStatusDescription;

        public override WebSocketState State => inner.State;

        public override string? SubProtocol => inner.SubProtocol;

        public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            var receive = inner.ReceiveAsync(buffer, cancellationToken);
            if (receive.IsCompleted)
            {
                return await receive;
            }

            pendingReceiveLength = buffer.Length;
            try
            {
                return await receive;
            }
            finally
            {
                pendingReceiveLength = -1;
            }
        }

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            inner.ReceiveAsync(buffer, cancellationToken);

        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
            inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);

        public override void Abort() => inner.Abort();

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            inner.CloseAsync(closeStatus, statusDescription, cancellationToken);

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            inner.CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

        public override void Dispose() => inner.Dispose();
    }
}
