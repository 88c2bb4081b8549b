using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;

namespace Fantasy.Actors.Connections;

/// <summary>
/// Opens upstream WebSockets through one shared <see cref="SocketsHttpHandler"/> (DNS, TLS and
/// connection settings in one place). A refused upgrade's status, headers and error body are
/// captured, so the refusal can be reported as a parsed <see cref="Protocol.UpstreamError"/>.
/// </summary>
internal sealed class WebSocketConnector : IDisposable
{
    private readonly SocketsHttpHandler handler;
    private readonly HttpMessageInvoker shared;

    public WebSocketConnector(SocketsHttpHandler? handler = null)
    {
        this.handler = handler ?? new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = Timeout.InfiniteTimeSpan, // the actor's timer bounds the whole upgrade
            AutomaticDecompression = DecompressionMethods.None,
        };
        shared = new HttpMessageInvoker(this.handler, disposeHandler: false);
    }

    /// <summary>
    /// Connects <paramref name="socket"/>. On a refused upgrade the returned task fails with
    /// <see cref="UpgradeRefusedException"/> carrying the status, headers and body. Returns the upgrade answer's
    /// <c>x-ratelimit-*</c> headers (empty when it sent none).
    /// </summary>
    internal async Task<IReadOnlyList<KeyValuePair<string, string>>> ConnectAsync(ClientWebSocket socket, Uri url, CancellationToken ct)
    {
        var capture = new RefusalCapture(shared);
        using var invoker = new HttpMessageInvoker(capture, disposeHandler: false);
        try
        {
            await socket.ConnectAsync(url, invoker, ct).ConfigureAwait(false);
            return capture.RateLimits;
        }
        catch (WebSocketException) when (capture.Status is { } status)
        {
            throw new UpgradeRefusedException(status, capture.Headers, capture.Body);
        }
    }

    public void Dispose()
    {
        shared.Dispose();
        handler.Dispose();
    }

    /// <summary>Passes the upgrade through and keeps what a non-101 answer said.</summary>
    private sealed class RefusalCapture(HttpMessageInvoker shared) : HttpMessageHandler
    {
        private const int MaxBody = 64 * 1024;

        public int? Status { get; private set; }
        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; private set; } = [];
        public byte[] Body { get; private set; } = [];

        /// <summary>The upgrade answer's <c>x-ratelimit-*</c> headers.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> RateLimits { get; private set; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await shared.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.SwitchingProtocols)
            {
                Status = (int)response.StatusCode;
                Headers = Flatten(response.Headers).Concat(Flatten(response.Content.Headers)).ToArray();
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                Body = body.Length <= MaxBody ? body : body[..MaxBody];
            }
            else if (response.Headers.Any(static h => h.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase)))
            {
                RateLimits = Flatten(response.Headers).Where(static h => h.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase)).ToArray();
            }

            return response;
        }

        private static IEnumerable<KeyValuePair<string, string>> Flatten(HttpHeaders headers) =>
            headers.Select(h => new KeyValuePair<string, string>(h.Key, string.Join(",", h.Value)));
    }
}

/// <summary>The server answered the upgrade with plain HTTP instead of 101.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1032", Justification = "Thrown only by the connector, always with the refused answer.")]
internal sealed class UpgradeRefusedException : Exception
{
    public UpgradeRefusedException(int status, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body)
        : base($"the WebSocket upgrade was refused with HTTP {status}")
    {
        Status = status;
        Headers = headers;
        Body = body;
    }

    public int Status { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
    public byte[] Body { get; }
}
