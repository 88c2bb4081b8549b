using Akka.Configuration;
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
    /// Where sessions keep their conversations (<c>Fantasy:Persistence</c>); null: as <c>fantasy.persistence</c> says
    /// (in memory unless <see cref="Hocon"/> configures it).
    /// </summary>
    public FantasyPersistenceOptions? Persistence { get; set; }

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
            Persistence = FantasyPersistenceOptions.FromConfiguration(section.GetSection("Persistence")),
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

        if (Persistence is { } persistence)
        {
            lines.AddRange(persistence.HoconLines());
        }

        var config = ConfigurationFactory.ParseString(string.Join('\n', lines));
        if (Hocon is { Length: > 0 } hocon)
        {
            config = config.WithFallback(ConfigurationFactory.ParseString(hocon));
        }

        // With the journal plugin the persistence settings name (none: nothing added).
        return FantasySettings.WithPlugins(config.WithFallback(FantasySettings.DefaultConfig));
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
