using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// One accepted WebSocket in the core profile. A reader loop reassembles messages and queues them;
/// a processor loop runs them one at a time (a second <c>response.create</c> waits FIFO behind the
/// running one) and is the only writer. Invalid frames get a WS-shape error in their turn and the
/// connection is kept. The connection's latest finished response is its cache.
/// </summary>
internal sealed class WebSocketConnection : IDisposable
{
    private readonly WebSocket socket;
    private readonly Stream transport;
    private readonly SimulatorEngine engine;
    private readonly DateTimeOffset openedAt = DateTimeOffset.UtcNow;
    private readonly Channel<Inbound> inbound = Channel.CreateUnbounded<Inbound>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource clientClosing = new();
    private readonly CancellationTokenRegistration pushRegistration;
    private StoredResponse? cache;

    public WebSocketConnection(WebSocket socket, Stream transport, SimulatorEngine engine)
    {
        this.socket = socket;
        this.transport = transport;
        this.engine = engine;

        // A push asked for while this socket is open queues behind what it has already received: it is acted on
        // as soon as the socket is idle. Sockets opened after the push register on the next token.
        pushRegistration = engine.Faults.IdlePush.UnsafeRegister(
            static state => ((Channel<Inbound>)state!).Writer.TryWrite(new Inbound.PushLimit()), inbound);
    }

    public void Dispose()
    {
        pushRegistration.Dispose();
        clientClosing.Dispose();
    }

    private abstract record Inbound
    {
        public sealed record Text(byte[] Bytes) : Inbound;

        public sealed record Binary : Inbound;

        public sealed record TooBig : Inbound;

        public sealed record ClientClosed : Inbound;

        /// <summary><see cref="SimulatorFaults.PushLimitErrorToIdleSockets"/> was called.</summary>
        public sealed record PushLimit : Inbound;
    }

    private enum Next
    {
        Continue,

        /// <summary>The close handshake was started: wait for the peer's answer.</summary>
        Stop,

        /// <summary>The transport was dropped: nothing to wait for.</summary>
        Abandon,
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        engine.Counters.ConnectionOpened();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        await using var abortOnStop = cts.Token.Register(socket.Abort).ConfigureAwait(false);
        try
        {
            var reader = ReadLoopAsync(cts.Token);
            if (await ProcessLoopAsync(cts.Token).ConfigureAwait(false) != Next.Abandon)
            {
                await reader.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or TimeoutException or ObjectDisposedException)
        {
            // The peer went away, the simulator is stopping, or the close handshake was not answered.
        }
        finally
        {
            socket.Abort();
            engine.Counters.ConnectionClosed();
        }
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= engine.Options.MaxInboundMessageBytes)
                        {
                            inbound.Writer.TryWrite(new Inbound.TooBig());
                            return;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, engine.Options.MaxInboundMessageBytes));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                engine.Counters.WebSocketBytes(length);
                switch (result.MessageType)
                {
                    case WebSocketMessageType.Close:
                        // Stop the running response between frames, then answer the close.
                        await clientClosing.CancelAsync().ConfigureAwait(false);
                        inbound.Writer.TryWrite(new Inbound.ClientClosed());
                        return;
                    case WebSocketMessageType.Binary:
                        inbound.Writer.TryWrite(new Inbound.Binary());
                        break;
                    default:
                        inbound.Writer.TryWrite(new Inbound.Text(buffer.AsSpan(0, length).ToArray()));
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // The client vanished: stop any running response (a stall included) and end the connection.
            await clientClosing.CancelAsync().ConfigureAwait(false);
            inbound.Writer.TryWrite(new Inbound.ClientClosed());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            inbound.Writer.TryComplete();
        }
    }

    private async Task<Next> ProcessLoopAsync(CancellationToken ct)
    {
        using var turnCts = CancellationTokenSource.CreateLinkedTokenSource(ct, clientClosing.Token);
        while (true)
        {
            var message = await NextAsync(ct).ConfigureAwait(false);
            switch (message)
            {
                case null:
                    // The lifetime ran out on an idle socket and the server pushes the limit error.
                    await SendAsync(SimError.ConnectionLimit.ToWebSocketFrame(), ct).ConfigureAwait(false);
                    engine.Counters.ErrorSent();
                    await CloseAsync(WebSocketCloseStatus.NormalClosure, "connection limit reached", ct).ConfigureAwait(false);
                    return Next.Stop;
                case Inbound.ClientClosed:
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty, ct).ConfigureAwait(false);
                    }

                    return Next.Stop;
                case Inbound.TooBig:
                    await CloseAsync(WebSocketCloseStatus.MessageTooBig, "message too big", ct).ConfigureAwait(false);
                    return Next.Stop;
                case Inbound.Binary:
                    await SendErrorAsync(SimError.Invalid("Binary frames are not supported; send response.create as a text frame."), ct).ConfigureAwait(false);
                    break;
                case Inbound.Text text:
                    try
                    {
                        var next = await HandleAsync(text.Bytes, turnCts.Token, ct).ConfigureAwait(false);
                        if (next != Next.Continue)
                        {
                            return next;
                        }
                    }
                    catch (OperationCanceledException) when (clientClosing.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        // The client closed mid-response; the next message is its close.
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// The next inbound message, or null when the server pushes the limit error to this idle socket: its lifetime
    /// ran out (with the push option on) or <see cref="SimulatorFaults.PushLimitErrorToIdleSockets"/> was called.
    /// </summary>
    private async Task<Inbound?> NextAsync(CancellationToken ct)
    {
        if (inbound.Reader.TryRead(out var queued))
        {
            return queued is Inbound.PushLimit ? null : queued;
        }

        if (!engine.Options.PushLimitErrorWhenIdle)
        {
            var next = await inbound.Reader.ReadAsync(ct).ConfigureAwait(false);
            return next is Inbound.PushLimit ? null : next;
        }

        var left = openedAt + engine.Options.ConnectionLifetime - DateTimeOffset.UtcNow;
        if (left <= TimeSpan.Zero)
        {
            return null;
        }

        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(ct);
        lifetime.CancelAfter(left);
        try
        {
            var next = await inbound.Reader.ReadAsync(lifetime.Token).ConfigureAwait(false);
            return next is Inbound.PushLimit ? null : next;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return inbound.Reader.TryRead(out var ready) && ready is not Inbound.PushLimit ? ready : null;
        }
    }

    /// <param name="turnCt">Cancelled when the client closes or the simulator stops: waits only, never a send.</param>
    /// <param name="ct">Cancelled when the simulator stops (a cancelled send aborts the socket).</param>
    private async Task<Next> HandleAsync(byte[] frame, CancellationToken turnCt, CancellationToken ct)
    {
        if (DateTimeOffset.UtcNow - openedAt >= engine.Options.ConnectionLifetime)
        {
            await SendAsync(SimError.ConnectionLimit.ToWebSocketFrame(), ct).ConfigureAwait(false);
            engine.Counters.ErrorSent();
            await CloseAsync(WebSocketCloseStatus.NormalClosure, "connection limit reached", ct).ConfigureAwait(false);
            return Next.Stop;
        }

        var (request, invalid) = CreateFrames.Parse(frame);
        if (request is null)
        {
            await SendErrorAsync(invalid!, ct).ConfigureAwait(false);
            return Next.Continue;
        }

        engine.Counters.ResponseCreateFrame(frame);
        if (engine.Admit(frame.Length) is { } limited)
        {
            await SendErrorAsync(limited, ct).ConfigureAwait(false);
            return Next.Continue;
        }

        var faults = engine.Faults.TakeTurnFaults(FaultTransport.WebSocket);
        if (faults.Error is { } injected)
        {
            Evict(request.PreviousResponseId);
            await SendErrorAsync(new SimError(injected.Status, CreateFrames.ErrorType(injected.Status), injected.Code, injected.Message), ct).ConfigureAwait(false);
            return Next.Continue;
        }

        var (resolution, notFound) = await engine.ResolveAsync(request, cache, turnCt).ConfigureAwait(false);
        if (resolution is null)
        {
            Evict(request.PreviousResponseId);
            await SendErrorAsync(notFound!, ct).ConfigureAwait(false);
            return Next.Continue;
        }

        var run = engine.Start(request, resolution);
        var sent = 0;
        if (engine.Faults.FirstEventLatency is { Ticks: > 0 } first)
        {
            await Task.Delay(first, turnCt).ConfigureAwait(false);
        }

        if (faults.CloseAfterEvents == 0)
        {
            // The request was taken and nothing is sent: the TCP stream just ends.
            await transport.FlushAsync(ct).ConfigureAwait(false);
            await transport.DisposeAsync().ConfigureAwait(false);
            return Next.Abandon;
        }

        foreach (var eventFrame in run.Frames(faults.FailWithCode))
        {
            if (sent > 0 && engine.Faults.PerEventLatency is { Ticks: > 0 } perEvent)
            {
                await Task.Delay(perEvent, turnCt).ConfigureAwait(false);
            }

            turnCt.ThrowIfCancellationRequested();

            await SendAsync(eventFrame, ct).ConfigureAwait(false);
            sent++;
            if (faults.CloseAfterEvents is { } closeAfter && sent >= closeAfter)
            {
                // No close frame: the TCP stream just ends, after everything sent so far.
                await transport.FlushAsync(ct).ConfigureAwait(false);
                await transport.DisposeAsync().ConfigureAwait(false);
                return Next.Abandon;
            }

            if (sent == 1)
            {
                await AfterCreatedAsync(run, faults, turnCt, ct).ConfigureAwait(false);
            }
        }

        if (run.FinalStatus == "failed")
        {
            Evict(request.PreviousResponseId);
        }
        else
        {
            cache = engine.Remember(request, resolution, run, run.ResponseId);
        }

        return Next.Continue;
    }

    private async Task AfterCreatedAsync(ResponseRun run, TurnFaults faults, CancellationToken turnCt, CancellationToken ct)
    {
        if (faults.Stall is { } stall)
        {
            await Task.Delay(stall, turnCt).ConfigureAwait(false);
        }

        if (faults.MalformedFrame)
        {
            await SendAsync("{\"type\":\"response.output_text.delta\",\"delta\":"u8.ToArray(), ct).ConfigureAwait(false);
        }

        if (faults.OversizedFrameBytes is { } size)
        {
            await SendAsync(run.OversizedDelta(size), ct).ConfigureAwait(false);
        }
    }

    private void Evict(string? previousResponseId)
    {
        if (previousResponseId is not null && cache?.Id == previousResponseId)
        {
            cache = null;
        }
    }

    private async Task SendErrorAsync(SimError error, CancellationToken ct)
    {
        engine.Counters.ErrorSent();
        await SendAsync(error.ToWebSocketFrame(), ct).ConfigureAwait(false);
    }

    private async Task SendAsync(byte[] frame, CancellationToken ct)
    {
        var fragment = engine.Faults.FragmentBytes;
        if (fragment <= 0 || frame.Length <= fragment)
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct).ConfigureAwait(false);
            return;
        }

        // One message as many frames: continuation frames until the last one carries FIN.
        for (var offset = 0; offset < frame.Length; offset += fragment)
        {
            var length = Math.Min(fragment, frame.Length - offset);
            await socket.SendAsync(frame.AsMemory(offset, length), WebSocketMessageType.Text, offset + length == frame.Length, ct).ConfigureAwait(false);
        }
    }

    private async Task CloseAsync(WebSocketCloseStatus status, string reason, CancellationToken ct)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(status, reason, ct).ConfigureAwait(false);
        }
    }
}
