using Akka.Actor;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Fantasy.Actors.Cluster;
using Fantasy.Actors.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fantasy.Actors.Api;

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
