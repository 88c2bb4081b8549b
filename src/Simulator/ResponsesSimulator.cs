using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// A local Responses API server on 127.0.0.1: WebSocket mode (<c>GET /v1/responses</c> + Upgrade) and
/// HTTP (<c>POST /v1/responses</c>, SSE or JSON), driven by a deterministic scripted model, with fault
/// and latency knobs and counters. <c>await using var sim = await ResponsesSimulator.StartAsync(options);</c>
/// </summary>
public sealed class ResponsesSimulator : IAsyncDisposable
{
    private const string ResponsesPath = "/v1/responses";
    private readonly WebApplication app;
    private readonly SimulatorEngine engine;
    private readonly HttpEndpoint http;
    private readonly ApiEndpoints api;

    private static readonly SimError InvalidKey = new(401, "invalid_request_error", "invalid_api_key",
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.");
    private readonly CancellationTokenSource stopping = new();

    private ResponsesSimulator(WebApplication app, SimulatorEngine engine)
    {
        this.app = app;
        this.engine = engine;
        http = new HttpEndpoint(engine);
        api = new ApiEndpoints(engine);
    }

    public SimulatorOptions Options => engine.Options;
    public SimulatorFaults Faults => engine.Faults;
    public SimulatorCounters Counters => engine.Counters;

    /// <summary>The port Kestrel listens on.</summary>
    public int Port { get; private set; }

    /// <summary><c>http://127.0.0.1:{port}/v1</c>: the base URL a client is given.</summary>
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/v1");

    /// <summary><c>ws://127.0.0.1:{port}/v1/responses</c>.</summary>
    public Uri WebSocketUrl => new($"ws://127.0.0.1:{Port}{ResponsesPath}");

    public static async Task<ResponsesSimulator> StartAsync(SimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SimulatorOptions();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Fantasy.Actors.Simulator" });
        builder.Logging.ClearProviders();
        if (options.ConsoleLogging)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
        }

        builder.Services.AddRouting();

        // An embedded server must not take over the process's Ctrl+C/SIGTERM handling: its owner decides.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 64L * 1024 * 1024;
        });

        var app = builder.Build();
        var engine = new SimulatorEngine(options, new SimulatorFaults(options), new SimulatorCounters(options.KeepLastRequests));
        var simulator = new ResponsesSimulator(app, engine);
        app.Run(simulator.DispatchAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        simulator.Port = new Uri(address).Port;
        return simulator;
    }

    private async Task DispatchAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        if (path == "/_stats" && HttpMethods.IsGet(context.Request.Method))
        {
            await WriteStatsAsync(context).ConfigureAwait(false);
            return;
        }

        if (path.TrimEnd('/') != ResponsesPath)
        {
            if (!Authorized(context.Request))
            {
                await HttpEndpoint.WriteErrorAsync(context, InvalidKey, null).ConfigureAwait(false);
            }
            else if (!await api.TryHandleAsync(context).ConfigureAwait(false))
            {
                // The API's answer to a path it does not serve: 404, no code.
                await HttpEndpoint.WriteErrorAsync(context, SimError.NotFound($"Invalid URL ({context.Request.Method} {path})"), null).ConfigureAwait(false);
            }

            return;
        }

        var isUpgrade = context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }
                        && HttpMethods.IsGet(context.Request.Method)
                        && context.Request.Headers.Upgrade.ToString().Equals("websocket", StringComparison.OrdinalIgnoreCase);
        if (isUpgrade)
        {
            engine.Counters.Handshake(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
        }

        if (!Authorized(context.Request))
        {
            if (isUpgrade)
            {
                engine.Counters.UpgradeRefused();
            }

            await HttpEndpoint.WriteErrorAsync(context, InvalidKey, null).ConfigureAwait(false);
            return;
        }

        if (isUpgrade)
        {
            await AcceptAsync(context).ConfigureAwait(false);
        }
        else if (HttpMethods.IsPost(context.Request.Method))
        {
            await http.PostAsync(context).ConfigureAwait(false);
        }
        else
        {
            await HttpEndpoint.WriteErrorAsync(context, new SimError(405, "invalid_request_error", "method_not_allowed",
                "Use POST, or GET with a WebSocket upgrade."), null).ConfigureAwait(false);
        }
    }

    private async Task AcceptAsync(HttpContext context)
    {
        if (engine.Faults.TakeUpgradeRefusal() is { } refusal)
        {
            engine.Counters.UpgradeRefused();
            await HttpEndpoint.WriteErrorAsync(context, new SimError(refusal.Status, refusal.Type ?? CreateFrames.ErrorType(refusal.Status),
                refusal.Code ?? HttpEndpoint.DefaultCode(refusal.Status), refusal.Message ?? HttpEndpoint.DefaultMessage(refusal.Status)), refusal)
                .ConfigureAwait(false);
            return;
        }

        // The upgrade is done here rather than by AcceptWebSocketAsync so that the connection keeps the
        // raw stream: an "abrupt close" fault ends the TCP stream cleanly (FIN, no close frame), so
        // the client reliably receives every event sent before it.
        var key = context.Request.Headers.SecWebSocketKey.ToString();
        context.Response.Headers.Connection = "Upgrade";
        context.Response.Headers.Upgrade = "websocket";
        if (engine.Budget.Enabled)
        {
            // The organization's budget as of the upgrade: a client learns its limits before its first request.
            foreach (var (name, value) in engine.Budget.Headers())
            {
                context.Response.Headers[name] = value;
            }
        }

#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 for Sec-WebSocket-Accept; it is not used for security here.
        context.Response.Headers.SecWebSocketAccept = Convert.ToBase64String(
            SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
        var stream = await context.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync().ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
            {
                IsServer = true,
                KeepAliveInterval = engine.Options.KeepAliveInterval,
            });
            using var connection = new WebSocketConnection(socket, stream, engine);
            await connection.RunAsync(stopping.Token).ConfigureAwait(false);
        }
    }

    private bool Authorized(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || header.Length <= "Bearer ".Length)
        {
            return false;
        }

        var key = header["Bearer ".Length..].Trim();
        return key.Length > 0 && (engine.Options.ApiKeys.Count == 0 || engine.Options.ApiKeys.Contains(key));
    }

    private async Task WriteStatsAsync(HttpContext context)
    {
        var c = engine.Counters;
        context.Response.ContentType = "application/json";
        var body = WireWriter.Write(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("connections_opened", c.ConnectionsOpened);
            w.WriteNumber("connections_open", c.ConnectionsOpen);
            w.WriteNumber("upgrades_refused", c.UpgradesRefused);
            w.WriteNumber("response_create_frames", c.ResponseCreateFrames);
            w.WriteNumber("chained_requests", c.ChainedRequests);
            w.WriteNumber("fresh_requests", c.FreshRequests);
            w.WriteNumber("warmups", c.Warmups);
            w.WriteNumber("http_posts", c.HttpPosts);
            w.WriteNumber("websocket_bytes_received", c.WebSocketBytesReceived);
            w.WriteNumber("http_bytes_received", c.HttpBytesReceived);
            w.WriteNumber("responses_completed", c.ResponsesCompleted);
            w.WriteNumber("errors_sent", c.ErrorsSent);
            w.WriteNumber("rate_limited_requests", c.RateLimitedRequests);
            w.WriteNumber("budget_admitted_requests", c.BudgetAdmittedRequests);
            w.WriteNumber("api_calls", c.ApiCalls);
            w.WriteStartObject("last_handshake_headers");
            foreach (var (name, value) in c.LastHandshakeHeaders)
            {
                // The stats page may be shared; keys are not.
                w.WriteString(name, name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) ? "Bearer ***" : value);
            }

            w.WriteEndObject();
            w.WriteStartArray("last_requests");
            foreach (var r in c.LastRequests)
            {
                w.WriteStartObject();
                w.WriteString("transport", r.Transport == FaultTransport.Http ? "http" : "websocket");
                w.WriteString("at", r.At);
                w.WritePropertyName("body");
                try
                {
                    using var doc = JsonDocument.Parse(r.Body);
                    doc.RootElement.WriteTo(w);
                }
                catch (JsonException)
                {
                    w.WriteStringValue(r.Body);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        stopping.Dispose();
    }

    /// <summary>A host lifetime that leaves process signals alone.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
