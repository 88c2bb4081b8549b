using Akka.Actor;
using Fantasy.Actors.Diagnostics;
using OpenTelemetry.Trace;
using OpenTelemetry.Resources;
using OpenTelemetry.Metrics;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Simulator;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Fantasy.Actors.Host;

/// <summary>
/// The gateway process: an OpenAI-compatible Responses HTTP API in front of the session service. With no
/// upstream configured it starts the Simulator in-process on loopback as its upstream.
/// </summary>
internal sealed class Gateway : IAsyncDisposable
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    private readonly ResponsesSimulator? simulator;

    private Gateway(WebApplication app, ResponsesSimulator? simulator, GatewayOptions options, Uri upstream)
    {
        App = app;
        this.simulator = simulator;
        Options = options;
        Upstream = upstream;
    }

    public WebApplication App { get; }

    public GatewayOptions Options { get; }

    public Uri Upstream { get; }

    public bool EmbeddedSimulator => simulator is not null;

    /// <summary>The address the gateway listens on (the first of <c>--urls</c>), after start.</summary>
    public Uri BaseAddress => new(App.Urls.First());

    /// <summary>Builds and starts the gateway; <paramref name="args"/> are the process's arguments (<c>--urls</c>, configuration).</summary>
    public static async Task<Gateway> StartAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var json = builder.Configuration.GetValue<bool>("Fantasy:Logging:Json");
        var logger = new LoggerConfiguration()
            .MinimumLevel.Is(builder.Configuration.GetValue("Fantasy:Logging:MinimumLevel", LogEventLevel.Information))
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Extensions.Http", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        logger = json
            ? logger.WriteTo.Console(new CompactJsonFormatter())
            : logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}", formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        Log.Logger = logger.CreateLogger();
        builder.Services.AddSerilog();

        var options = GatewayOptions.From(builder.Configuration);

        // The host must wait for the drain (and then the actor system) before it gives up on shutdown.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.DrainTimeout + TimeSpan.FromSeconds(15));
        var fantasy = FantasyOptions.FromConfiguration(builder.Configuration.GetSection("Fantasy"));

        // Conversations survive a restart by default: a SQLite file in the data directory (Fantasy:Persistence).
        fantasy.Persistence ??= new FantasyPersistenceOptions();
        fantasy.Persistence.Provider ??= PersistenceProvider.Sqlite;
        if (fantasy.Persistence.Provider == PersistenceProvider.Sqlite && string.IsNullOrWhiteSpace(fantasy.Persistence.ConnectionString))
        {
            fantasy.Persistence.ConnectionString = DefaultSqlite;
        }

        ResponsesSimulator? simulator = null;
        if (fantasy.BaseUrl is null && fantasy.WebSocketUrl is null)
        {
            simulator = await ResponsesSimulator.StartAsync();
            fantasy.BaseUrl = simulator.BaseUrl;
            fantasy.WebSocketUrl = simulator.WebSocketUrl;
            fantasy.ApiKey ??= "sk-embedded-simulator";
            Log.Information("upstream: embedded simulator at {Upstream} (set Fantasy:Upstream:BaseUrl to use a real endpoint)", simulator.BaseUrl);
        }
        else
        {
            Log.Information("upstream: {Upstream}", fantasy.BaseUrl ?? fantasy.WebSocketUrl);
        }

        // The gateway passes events on exactly as received.
        fantasy.Hocon = (fantasy.Hocon ?? string.Empty) + "\nfantasy.connection.keep-raw-events = on";

        // The host's lifetime stops the actor system, after the drain: Akka's own process-exit hook would run
        // CoordinatedShutdown the moment SIGTERM arrives and cut every running turn.
        fantasy.Hocon += "\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off";

        // Cluster mode: gateway nodes ask each other for the responses each keeps (retrieve, cancel, delete from any node).
        if (fantasy.Cluster is { Enabled: true })
        {
            fantasy.Hocon += "\n" + ArchivePeers.Hocon;
        }

        // Tenants' weights when their turns wait for the upstream's budget (Fantasy:Tenants:<n>:Weight).
        fantasy.Hocon += "\n" + options.WeightsHocon();
        var settings = FantasySettings.FromConfig(fantasy.ToConfig());
        var upstream = fantasy.BaseUrl ?? settings.Upstream.BaseUrl;
        LogPersistence(settings.Persistence);

        if (options.WarmUp)
        {
            await GatewayWarmUp.RunAsync();
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new UpstreamInfo(upstream, simulator is not null));
        builder.Services.AddSingleton<TurnGate>();

        // OpenTelemetry: each turn's span (GenAI conventions) under the ASP.NET Core request's, the upstream HTTP
        // calls, and the gateway's, the service's, ASP.NET Core's and the runtime's meters — scraped on /metrics in
        // Prometheus text, and exported over OTLP when configured (OTEL_EXPORTER_OTLP_ENDPOINT, and the other OTEL_*
        // variables the exporter reads).
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        FantasyMetrics.EnsureCreated();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "fantasy-gateway"))
            .WithTracing(tracing =>
            {
                tracing.AddSource(TurnTelemetry.ActivitySourceName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayMetrics.MeterName, FantasyMetrics.MeterName, "System.Runtime")
                    .AddAspNetCoreInstrumentation()
                    .AddPrometheusExporter(prometheus =>
                    {
                        // Series named by instrument alone (no otel_scope_* labels: each name belongs to one meter),
                        // and every scrape a fresh collection.
                        prometheus.ScopeInfoEnabled = false;
                        prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    });
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        builder.Services.AddFantasyActors(fantasy);

        // The drain runs in the hosts's "stopping" phase, before any hosted service stops: Kestrel still answers
        // (503 to new turns) and the actor system still runs the turns in flight.
        builder.Services.AddHostedService<DrainService>();
        // Requests the gateway does not answer itself go to the tenant's upstream with its credentials (YARP's forwarder).
        var passThrough = new UpstreamTarget(upstream, fantasy.ApiKey ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? string.Empty,
            fantasy.Organization, fantasy.Project, Own: false);
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<UpstreamProxy>();
        builder.Services.AddSingleton(sp => new TenantDirectory(options, sp.GetRequiredService<IResponsesSessions>(), sp.GetRequiredService<ActorSystem>(), fantasy.Cluster,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<TenantDirectory>(), upstream: passThrough));

        var app = builder.Build();
        app.UseSerilogRequestLogging(o => o.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms");

        // Every error is {"error":{…}}, also the ones routing produces without a body (unknown path, wrong method).
        app.UseStatusCodePages(pages => pages.HttpContext.Response.StatusCode switch
        {
            // The API's own answer to a path it does not serve (type invalid_request_error, no code).
            404 => OpenAIErrors.WriteAsync(pages.HttpContext, 404, $"Invalid URL ({pages.HttpContext.Request.Method} {pages.HttpContext.Request.Path})"),
            405 => OpenAIErrors.WriteAsync(pages.HttpContext, 405, $"{pages.HttpContext.Request.Method} is not allowed on {pages.HttpContext.Request.Path}.", code: "method_not_allowed"),
            var status => OpenAIErrors.WriteAsync(pages.HttpContext, status, $"The request failed with HTTP {status}.", status >= 500 ? "server_error" : "invalid_request_error"),
        });
        // /metrics: the OpenTelemetry Prometheus exporter, behind the gateway's own scrape authorization.
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => context.Request.Path == "/metrics" && HttpMethods.IsGet(context.Request.Method),
            path: null,
            configureBranchedPipeline: branch => branch.Use(async (context, next) =>
            {
                if (await HealthEndpoints.AuthorizeMetricsAsync(context, options))
                {
                    await next(context);
                }
            }),
            optionsName: null);
        GatewayEndpoints.Map(app);
        try
        {
            await app.StartAsync();
            var directory = app.Services.GetRequiredService<TenantDirectory>();
            if (fantasy.Cluster is { Enabled: true })
            {
                app.Services.GetRequiredService<ActorSystem>().ActorOf(Props.Create(() => new ArchivePeer(directory)), ArchivePeers.Name);
            }
        }
        catch
        {
            if (simulator is not null)
            {
                await simulator.DisposeAsync();
            }

            throw;
        }

        return new Gateway(app, simulator, options, upstream);
    }

    /// <summary>The Host's conversation store when none is configured: a SQLite file under the working directory.</summary>
    public const string DefaultSqlite = "Data Source=data/fantasy.db";

    private static void LogPersistence(PersistenceSettings persistence)
    {
        if (!persistence.Enabled)
        {
            Log.Warning("conversations: in memory only (Fantasy:Persistence:Provider = None); a restart loses every conversation");
            return;
        }

        var where = persistence.Provider == PersistenceProvider.Sqlite
            ? new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(persistence.ConnectionString).DataSource
            : new Npgsql.NpgsqlConnectionStringBuilder(persistence.ConnectionString) { Password = null }.ToString();
        Log.Information("conversations: {Provider} {Where}; kept {Retention} after their last turn; on failure: {OnFailure}{Encrypted}",
            persistence.Provider, where, persistence.Retention == TimeSpan.Zero ? "for good" : persistence.Retention.ToString(), persistence.OnFailure,
            persistence.Encrypted ? "; items encrypted at rest" : string.Empty);
    }

    /// <summary>The line a person reads to start using the gateway.</summary>
    public string ReadyLine()
    {
        var key = Options.DevelopmentTenant ? $"; development tenant key: {GatewayOptions.DevelopmentKey}" : $"; tenants: {string.Join(", ", Options.Tenants.Select(t => t.Name))}";
        return $"READY {BaseAddress.ToString().TrimEnd('/')}/v1 (upstream: {(EmbeddedSimulator ? "embedded simulator" : Upstream.ToString())}){key}";
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        if (simulator is not null)
        {
            await simulator.DisposeAsync();
        }
    }
}
