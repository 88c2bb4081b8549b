using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fantasy.Actors.Api;

/// <summary>What an embedding application tells the service.</summary>
public sealed class FantasyOptions
{
    /// <summary>The upstream API key; default: <c>OPENAI_API_KEY</c> from the environment.</summary>
    public string? ApiKey { get; set; }

    public string? Organization { get; set; }

    public string? Project { get; set; }

    /// <summary>Overrides <c>fantasy.upstream.base-url</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Overrides <c>fantasy.upstream.websocket-url</c>.</summary>
    public Uri? WebSocketUrl { get; set; }

    /// <summary>Extra HOCON over <c>hocon/fantasy.conf</c> (any <c>fantasy.*</c> key).</summary>
    public string? Hocon { get; set; }

    /// <summary>Route Akka's logging through Serilog (Akka.Logger.Serilog, semantic templates).</summary>
    public bool UseSerilog { get; set; } = true;

    /// <summary>The actor system's name for <see cref="FantasyHostingExtensions.AddFantasyActors(IServiceCollection, FantasyOptions)"/>.</summary>
    public string ActorSystemName { get; set; } = "fantasy";

    /// <summary>Cluster mode (<c>Fantasy:Cluster</c>); null or not <see cref="FantasyClusterOptions.Enabled"/>: local mode, one process.</summary>
    public FantasyClusterOptions? Cluster { get; set; }

    /// <summary>
    /// Reads <c>Upstream:ApiKey</c>, <c>Upstream:Organization</c>, <c>Upstream:Project</c>, <c>Upstream:BaseUrl</c>,
    /// <c>Upstream:WebSocketUrl</c> and <c>Hocon</c> from <paramref name="section"/> (typically <c>Fantasy</c>).
    /// </summary>
    public static FantasyOptions FromConfiguration(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new FantasyOptions
        {
            ApiKey = NullIfEmpty(section["Upstream:ApiKey"]),
            Organization = NullIfEmpty(section["Upstream:Organization"]),
            Project = NullIfEmpty(section["Upstream:Project"]),
            BaseUrl = Url(section, "Upstream:BaseUrl"),
            WebSocketUrl = Url(section, "Upstream:WebSocketUrl"),
            Hocon = NullIfEmpty(section["Hocon"]),
            Cluster = FantasyClusterOptions.FromConfiguration(section.GetSection("Cluster")),
        };
    }

    /// <summary>The <c>fantasy</c> config these options stand for, over the embedded defaults.</summary>
    public Config ToConfig()
    {
        var lines = new List<string>();
        if (BaseUrl is not null)
        {
            lines.Add($"fantasy.upstream.base-url = \"{BaseUrl}\"");
        }

        if (WebSocketUrl is not null)
        {
            lines.Add($"fantasy.upstream.websocket-url = \"{WebSocketUrl}\"");
        }

        if (Cluster is { Enabled: true })
        {
            // Events cross nodes as the JSON the upstream sent; the sessions live on the "sessions" nodes.
            lines.Add("fantasy.connection.keep-raw-events = on");
            lines.Add($"fantasy.cluster.role = {FantasyClusterOptions.SessionsRole}");
        }

        var config = ConfigurationFactory.ParseString(string.Join('\n', lines));
        if (Hocon is { Length: > 0 } hocon)
        {
            config = config.WithFallback(ConfigurationFactory.ParseString(hocon));
        }

        return config.WithFallback(FantasySettings.DefaultConfig);
    }

    internal UpstreamCredentials Credentials() => Credentials(Environment.GetEnvironmentVariable);

    /// <param name="environment">Reads an environment variable (the process's, or a spec's).</param>
    internal UpstreamCredentials Credentials(Func<string, string?> environment) =>
        new(ApiKey ?? environment("OPENAI_API_KEY")
            ?? throw new InvalidOperationException("no upstream API key: set FantasyOptions.ApiKey (Fantasy:Upstream:ApiKey) or OPENAI_API_KEY"),
            Organization, Project);

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static Uri? Url(IConfiguration section, string key) =>
        NullIfEmpty(section[key]) is { } text
            ? Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : throw new InvalidOperationException($"Fantasy:{key} is not an absolute URL: '{text}'")
            : null;
}

/// <summary>Registry key of the session manager actor.</summary>
public sealed class FantasySessionManager
{
    private FantasySessionManager()
    {
    }
}

/// <summary>Registration with Akka.Hosting and Microsoft.Extensions.DependencyInjection.</summary>
public static class FantasyHostingExtensions
{
    /// <summary>The named <see cref="HttpClient"/> the HTTP fallback takes from <see cref="IHttpClientFactory"/> when one is registered.</summary>
    public const string HttpClientName = "fantasy-upstream";

    /// <summary>
    /// Adds the service to an Akka.Hosting actor system: its config (over <c>hocon/fantasy.conf</c>), Serilog
    /// logging (optional) and the session manager (registered as <see cref="FantasySessionManager"/>). Register
    /// the .NET API with <see cref="AddFantasySessionsApi(IServiceCollection)"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithFantasyActors(this AkkaConfigurationBuilder builder, FantasyOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        builder.AddHocon(options.ToConfig(), HoconAddMode.Append);
        if (options.UseSerilog)
        {
            builder.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddSerilogLogging();
            });
        }

        var credentials = options.Credentials();
        if (options.Cluster is { Enabled: true } cluster)
        {
            return builder.WithFantasyCluster(options, cluster, credentials);
        }

        return builder.WithActors((system, registry, resolver) =>
        {
            var settings = FantasySettings.FromConfig(system.Settings.Config);
            var http = resolver.GetService<IHttpClientFactory>()?.CreateClient(HttpClientName);
            registry.Register<FantasySessionManager>(ResponsesSessions.StartManager(system, credentials, settings, "fantasy-sessions", http));
        });
    }

    /// <summary>Registers <see cref="IResponsesSessions"/> over the session manager of <see cref="WithFantasyActors"/>.</summary>
    public static IServiceCollection AddFantasySessionsApi(this IServiceCollection services) => services.AddFantasySessionsApi(clustered: false);

    /// <summary>The API over the registered manager; in cluster mode over the shard region, with the node's turn relay.</summary>
    internal static IServiceCollection AddFantasySessionsApi(this IServiceCollection services, bool clustered) =>
        services.AddSingleton<IResponsesSessions>(sp =>
        {
            var system = sp.GetRequiredService<ActorSystem>();
            var registry = sp.GetRequiredService<ActorRegistry>();

            // Not registry.Get: resolved before the actor system has started its actors, that throws.
            var settings = FantasySettings.FromConfig(system.Settings.Config);
            return clustered
                ? new ResponsesSessions(system, registry.GetAsync<FantasySessionManager>(), settings with { Connection = settings.Connection with { KeepRawEvents = true } }, registry.GetAsync<FantasyTurnRelay>())
                : new ResponsesSessions(system, registry.GetAsync<FantasySessionManager>(), settings);
        });

    /// <summary>For applications without Akka.Hosting: starts an actor system with the service and registers the API.</summary>
    public static IServiceCollection AddFantasyActors(this IServiceCollection services, FantasyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _ = options.Credentials(); // fail at registration, not at the first turn
        var settings = FantasySettings.FromConfig(options.ToConfig());
        services.AddHttpClient(HttpClientName).ConfigurePrimaryHttpMessageHandler(() => ResponsesSessions.CreateHandler(settings));
        return services
            .AddAkka(options.ActorSystemName, builder => builder.WithFantasyActors(options))
            .AddFantasySessionsApi(clustered: options.Cluster is { Enabled: true });
    }

    /// <summary>As <see cref="AddFantasyActors(IServiceCollection, FantasyOptions)"/>, with options read from <paramref name="section"/>.</summary>
    public static IServiceCollection AddFantasyActors(this IServiceCollection services, IConfiguration section, Action<FantasyOptions>? configure = null)
    {
        var options = FantasyOptions.FromConfiguration(section);
        configure?.Invoke(options);
        return services.AddFantasyActors(options);
    }
}
