using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Streams;

/// <summary>
/// The inbound side of a connection as Akka.Streams pieces: a source that reads whole messages from a
/// socket, and a flow that parses each message into a <see cref="ServerEvent"/>.
/// </summary>
internal static class InboundFrames
{
    /// <summary>
    /// How many messages a stream may read ahead of the actor it delivers to: while the actor works through one
    /// batch, up to this many more are read and parsed into the next.
    /// </summary>
    internal const int ReadAhead = 16;

    private const int InitialBuffer = 16 * 1024;

    /// <summary>
    /// Reads <paramref name="socket"/> one whole message per element (frames reassembled until
    /// <c>EndOfMessage</c>) into pooled buffers: <see cref="RawMessage"/> elements, then an
    /// <see cref="InboundFault"/> if reading failed (a message above <paramref name="maxMessageSize"/>
    /// is a <see cref="ProtocolException"/>). A close frame from the server completes the stream.
    /// Reading happens only on demand, so a slow consumer leaves data in the socket (TCP back-pressure).
    /// </summary>
    public static Source<object, NotUsed> From(WebSocket socket, long maxMessageSize, CancellationToken ct) =>
        Source.FromGraph(new MessageSource(socket, maxMessageSize, ct));

    /// <summary>
    /// Parses each <see cref="RawMessage"/> into a <see cref="ServerEvent"/> and returns its buffer. A binary
    /// message or bad JSON becomes an <see cref="InboundFault"/> carrying the <see cref="ProtocolException"/>;
    /// nothing is read after a fault.
    /// </summary>
    /// <param name="keepRaw">Keep each event's received bytes.</param>
    /// <param name="mode">Read for every message: whether the running turn wants text-carrying events as their bytes only.</param>
    public static Flow<object, object, NotUsed> Parse(bool keepRaw = false, InboundParseMode? mode = null) =>
        Flow.FromGraph(new ParseStage(keepRaw, mode));

    /// <summary>
    /// Groups the elements that arrive while downstream is busy into one <see cref="InboundBatch"/> of at most
    /// <paramref name="max"/> elements, so a fast stream costs one actor message per batch rather than per
    /// event; when downstream keeps up, every batch holds one element. Upstream is not pulled beyond
    /// <paramref name="max"/> (back-pressure).
    /// </summary>
    public static Flow<object, InboundBatch, NotUsed> Batches(int max)
    {
        var spares = new Spare<InboundBatch>();
        return Flow.Create<object>().Batch(max, first => InboundBatch.Start(spares, first), static (batch, next) => batch.Add(next));
    }

    private static object ParseOne(RawMessage raw, bool keepRaw, bool textAsReceived)
    {
        try
        {
            if (raw.Type != WebSocketMessageType.Text)
            {
                return new InboundFault(new ProtocolException($"a {raw.Type} message arrived; the protocol uses text frames only"));
            }

            return EventParser.Parse(raw.Span, keepRaw, textAsReceived);
        }
        catch (ProtocolException ex)
        {
            return new InboundFault(ex);
        }
        finally
        {
            raw.Release();
        }
    }

    /// <summary>
    /// The parsing stage: each <see cref="RawMessage"/> becomes its event (or an <see cref="InboundFault"/>), other
    /// elements pass as they are, and the stage completes after passing on a fault. (One stage rather than a select
    /// and a take-while: a hop less per event.)
    /// </summary>
    private sealed class ParseStage(bool keepRaw, InboundParseMode? mode) : GraphStage<FlowShape<object, object>>
    {
        private readonly Inlet<object> inlet = new("InboundFrames.parse.in");
        private readonly Outlet<object> outlet = new("InboundFrames.parse.out");
        private readonly bool keepRaw = keepRaw;
        private readonly InboundParseMode? mode = mode;

        public override FlowShape<object, object> Shape => new(inlet, outlet);

        protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

        private sealed class Logic : InAndOutGraphStageLogic
        {
            private readonly ParseStage stage;

            public Logic(ParseStage stage)
                : base(stage.Shape)
            {
                this.stage = stage;
                SetHandler(stage.inlet, this);
                SetHandler(stage.outlet, this);
            }

            public override void OnPush()
            {
                var element = Grab(stage.inlet);
                var parsed = element is RawMessage raw ? ParseOne(raw, stage.keepRaw, stage.mode is { TextAsReceived: true }) : element;
                Push(stage.outlet, parsed);
                if (parsed is InboundFault)
                {
                    CompleteStage();
                }
            }

            public override void OnPull() => Pull(stage.inlet);
        }
    }

    /// <summary>
    /// The socket-reading stage: frames are read into a buffer rented from the shared pool until <c>EndOfMessage</c>,
    /// and the whole message is pushed. Between messages it waits with a zero-byte receive (which completes once the
    /// next frame's header has arrived) and rents the buffer only then, so an idle connection holds no buffer. A receive that completes synchronously (the data was already in the socket)
    /// is handled at once, inside the stream's own turn, without allocating; only a receive that has to wait
    /// resumes the stage through an async callback. (<c>Source.UnfoldAsync</c> pays a task, a continuation and an
    /// actor message for every element.)
    /// </summary>
    private sealed class MessageSource(WebSocket socket, long maxMessageSize, CancellationToken ct) : GraphStage<SourceShape<object>>
    {
        private readonly Outlet<object> outlet = new("InboundFrames.out");
        private readonly WebSocket socket = socket;
        private readonly long maxMessageSize = maxMessageSize;
        private readonly CancellationToken ct = ct;

        public override SourceShape<object> Shape => new(outlet);

        protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

        private sealed class Logic : OutGraphStageLogic
        {
            private readonly MessageSource stage;
            private readonly Action readCompleted;
            private readonly Spare<RawMessage> messages = new();
            private Action<NotUsed> resume = null!;
            private ValueTaskAwaiter<ValueWebSocketReceiveResult> pending;
            private byte[]? buffer;
            private int length;
            private bool dataWaiting;
            private bool reading;
            private bool faulted;

            public Logic(MessageSource stage)
                : base(stage.Shape)
            {
                this.stage = stage;
                readCompleted = () => resume(NotUsed.Instance);
                SetHandler(stage.outlet, this);
            }

            public override void PreStart() => resume = GetAsyncCallback<NotUsed>(_ => Resume());

            public override void OnPull()
            {
                if (faulted)
                {
                    CompleteStage();
                    return;
                }

                Read();
            }

            /// <summary>Receives until a whole message was pushed, the stream ended, or a receive has to wait.</summary>
            [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012", Justification = "Each receive's awaiter is consumed exactly once: GetResult here, or in Resume after it completed.")]
            private void Read()
            {
                try
                {
                    while (true)
                    {
                        var receive = stage.socket.ReceiveAsync(NextSegment(), stage.ct).GetAwaiter();
                        if (!receive.IsCompleted)
                        {
                            reading = true;
                            pending = receive;
                            pending.UnsafeOnCompleted(readCompleted);
                            return;
                        }

                        if (Received(receive.GetResult()))
                        {
                            return;
                        }
                    }
                }
                catch (Exception ex)
                {
                    Fail(ex);
                }
            }

            private void Resume()
            {
                reading = false;
                try
                {
                    var result = pending.GetResult();
                    pending = default;
                    if (Received(result))
                    {
                        return;
                    }
                }
                catch (Exception ex)
                {
                    pending = default;
                    Fail(ex);
                    return;
                }

                Read();
            }

            /// <summary>The buffer space for the next receive, growing the buffer (up to the limit) when it is full.</summary>
            private Memory<byte> NextSegment()
            {
                if (buffer is null)
                {
                    if (!dataWaiting)
                    {
                        return Memory<byte>.Empty;
                    }

                    buffer = MessageBuffers.Rent(InitialBuffer);
                    length = 0;
                }
                else if (length == buffer.Length)
                {
                    if (length >= stage.maxMessageSize)
                    {
                        throw TooLarge();
                    }

                    var bigger = MessageBuffers.Rent((int)Math.Min((long)buffer.Length * 2, Math.Min(stage.maxMessageSize + 1, Array.MaxLength)));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    MessageBuffers.Return(buffer);
                    buffer = bigger;
                }

                return buffer.AsMemory(length);
            }

            /// <summary>Takes one receive's result; true when the stage pushed a message or completed.</summary>
            private bool Received(ValueWebSocketReceiveResult result)
            {
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ReturnBuffer();
                    CompleteStage();
                    return true;
                }

                if (buffer is null)
                {
                    // The zero-byte wait: the next message has begun (an empty message has ended at once).
                    dataWaiting = true;
                    if (!result.EndOfMessage)
                    {
                        return false;
                    }

                    buffer = MessageBuffers.Rent(InitialBuffer);
                }

                length += result.Count;
                if (length > stage.maxMessageSize)
                {
                    throw TooLarge();
                }

                if (!result.EndOfMessage)
                {
                    return false;
                }

                var message = RawMessage.From(messages, buffer, length, result.MessageType);
                buffer = null;
                length = 0;
                dataWaiting = false;
                Push(stage.outlet, message);
                return true;
            }

            /// <summary>Reading failed or was cancelled: the fault travels as the last element, behind what was already read.</summary>
            private void Fail(Exception cause)
            {
                ReturnBuffer();
                faulted = true;
                Push(stage.outlet, new InboundFault(cause));
            }

            private ProtocolException TooLarge() =>
                new($"an inbound message is larger than the {stage.maxMessageSize}-byte limit (connection.max-message-size)");

            private void ReturnBuffer()
            {
                if (buffer is { } b)
                {
                    buffer = null;
                    MessageBuffers.Return(b);
                }
            }

            public override void PostStop()
            {
                // A receive still waiting may yet write into the buffer (until the socket is aborted), so it is
                // left to the garbage collector rather than returned to the pool.
                if (!reading)
                {
                    ReturnBuffer();
                }
            }
        }
    }
}
