using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Simulator.Tests;

/// <summary>A raw <see cref="ClientWebSocket"/> driven with the Protocol library, as a test peer.</summary>
internal sealed class SimClient : IAsyncDisposable
{
    private readonly ClientWebSocket socket;

    private SimClient(ClientWebSocket socket) => this.socket = socket;

    public WebSocket Socket => socket;

    public static async Task<SimClient> ConnectAsync(ResponsesSimulator sim, string key = "sk-test", Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
        configure?.Invoke(socket.Options);
        using var cts = new CancellationTokenSource(Patience);
        await socket.ConnectAsync(sim.WebSocketUrl, cts.Token);
        return new SimClient(socket);
    }

    public async Task SendAsync(byte[] frame)
    {
        using var cts = new CancellationTokenSource(Patience);
        await socket.SendAsync(frame, WebSocketMessageType.Text, true, cts.Token);
    }

    public Task SendAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json));

    /// <summary>One whole message, or null when the server closed.</summary>
    public async Task<byte[]?> ReceiveFrameAsync(TimeSpan? patience = null)
    {
        using var cts = new CancellationTokenSource(patience ?? Patience);
        var buffer = new ArrayBufferWriter<byte>();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.GetMemory(64 * 1024), cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                // Finish the close handshake the server started, as a well-behaved client does.
                if (socket.State == WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty, cts.Token);
                }

                return null;
            }

            buffer.Advance(result.Count);
        }
        while (!result.EndOfMessage);

        return buffer.WrittenSpan.ToArray();
    }

    public async Task<ServerEvent> ReceiveEventAsync()
    {
        var frame = await ReceiveFrameAsync() ?? throw new InvalidOperationException("the server closed the socket");
        return EventParser.Parse(frame);
    }

    /// <summary>Reads events until the turn's terminal; returns the result and the events.</summary>
    public async Task<(TurnResult Result, List<ServerEvent> Events)> ReadTurnAsync()
    {
        var acc = new TurnAccumulator();
        var events = new List<ServerEvent>();
        while (true)
        {
            var e = await ReceiveEventAsync();
            events.Add(e);
            if (acc.Apply(e) == TurnProgress.Ended)
            {
                return (acc.ToResult(), events);
            }
        }
    }

    public async Task<TurnResult> TurnAsync(ResponseRequest request, string? previousResponseId = null, IReadOnlyList<JsonElement>? input = null, bool generate = true)
    {
        await SendAsync(request.ToWebSocketFrame(previousResponseId, input ?? request.Input, generate));
        return (await ReadTurnAsync()).Result;
    }

    public async Task<WebSocketCloseStatus?> CloseAsync()
    {
        using var cts = new CancellationTokenSource(Patience);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
        return socket.CloseStatus;
    }

    public ValueTask DisposeAsync()
    {
        socket.Abort();
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
