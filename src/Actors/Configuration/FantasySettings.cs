using System.Globalization;
using Akka.Configuration;

namespace Fantasy.Actors.Configuration;

/// <summary>
/// The service's tunables, read from the <c>fantasy</c> section of HOCON (defaults in
/// <c>hocon/fantasy.conf</c>, embedded in this assembly) and validated once at startup.
/// </summary>
public sealed record FantasySettings(
    UpstreamSettings Upstream,
    ConnectionSettings Connection,
    SessionSettings Session,
    HttpSettings Http,
    FallbackSettings Fallback)
{
    private const string ResourceName = "Fantasy.Actors.fantasy.conf";


    /// <summary>Where sessions keep their conversations (<c>fantasy.persistence</c>); in memory unless configured.</summary>
    public PersistenceSettings Persistence { get; init; } = PersistenceSettings.None;

    /// <summary>How sessions share their upstream credential's budget (<c>fantasy.rate-limits</c>).</summary>
    public RateLimitSettings RateLimits { get; init; } = RateLimitSettings.Default;

    private static readonly Lazy<Config> DefaultConfigLazy = new(LoadDefaultConfig);

    /// <summary>The embedded <c>hocon/fantasy.conf</c>.</summary>
    public static Config DefaultConfig => DefaultConfigLazy.Value;

    /// <summary>
    /// <paramref name="config"/> with what an actor system needs for the <c>fantasy</c> settings it holds: the journal
    /// plugin's configuration when <c>fantasy.persistence</c> names a database (<see cref="PersistenceSettings.ToAkkaConfig"/>).
    /// For an actor system an application creates itself; <c>FantasyOptions.ToConfig()</c> and the hosting extensions do it.
    /// </summary>
    public static Config WithPlugins(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return FromConfig(config).Persistence.ToAkkaConfig().WithFallback(config);
    }

    /// <summary>The settings with every default.</summary>
    public static FantasySettings Default => FromConfig(Config.Empty);

    /// <summary>Reads the settings from <paramref name="config"/> with the defaults as fallback.</summary>
    /// <exception cref="ConfigurationException">A value is missing, malformed or out of range; the message names its path.</exception>
    public static FantasySettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.WithFallback(DefaultConfig).GetConfig("fantasy");
        var r = new Reader(c);

        var baseUrl = r.AbsoluteUri("upstream.base-url");
        var wsOverride = r.String("upstream.websocket-url");
        var wsUrl = string.IsNullOrWhiteSpace(wsOverride)
            ? UpstreamSettings.DeriveWebSocketUrl(baseUrl)
            : r.AbsoluteUri("upstream.websocket-url", "ws", "wss");
        var beta = r.String("upstream.openai-beta");

        return new FantasySettings(
            new UpstreamSettings(baseUrl, wsUrl, string.IsNullOrWhiteSpace(beta) ? null : beta, r.String("upstream.user-agent")),
            new ConnectionSettings(
                r.Positive("connection.max-age"),
                r.NonNegative("connection.max-age-jitter"),
                r.Positive("connection.connect-timeout"),
                r.NonNegative("connection.keep-alive-interval"),
                r.Bytes("connection.max-message-size", min: 1024),
                r.Positive("connection.turn-watchdog"),
                r.Bool("connection.keep-raw-events")),
            new SessionSettings(
                r.Int("session.max-queued-turns", min: 0),
                r.Positive("session.queue-wait-timeout"),
                r.Positive("session.idle-close-after"),
                r.Int("session.max-transcript-items", min: 1),
                r.Bool("session.warm-on-rotate"),
                r.Positive("session.session-idle-timeout"),
                r.Int("session.consumer-window", min: 16),
                r.Positive("session.orphaned-turn-timeout"),
                r.Bytes("session.consumer-window-bytes", min: 64 * 1024)),
            new HttpSettings(
                r.Int("http.max-retries", min: 0),
                r.Positive("http.initial-backoff"),
                r.Positive("http.max-backoff"),
                r.NonNegative("http.max-retry-delay"),
                r.Positive("http.request-timeout"),
                r.Int("http.max-in-flight", min: 1),
                r.Int("http.max-waiting", min: 0),
                r.Positive("http.wait-timeout")),
            new FallbackSettings(
                r.Positive("fallback.cooldown"),
                r.Double("fallback.backoff-factor", min: 1.0),
                r.Positive("fallback.max-cooldown")))
        {
            Persistence = new PersistenceSettings(
                PersistenceSettings.ParseProvider(r.String("persistence.provider")),
                r.String("persistence.connection-string"),
                PersistenceSettings.ParseFailureMode(r.String("persistence.on-failure")),
                r.Positive("persistence.write-timeout"),
                r.Positive("persistence.recovery-timeout"),
                r.Int("persistence.snapshot-every", min: 1),
                r.NonNegative("persistence.retention"),
                PersistenceSettings.ParseKey(r.String("persistence.encryption-key")),
                r.Positive("persistence.probe-interval"))
            {
                PurgeEvery = r.Positive("persistence.purge-every"),
            },
            RateLimits = new RateLimitSettings(
                r.Bool("rate-limits.enabled"),
                r.Positive("rate-limits.default-hold"),
                r.Int("rate-limits.bytes-per-token", min: 1),
                r.Weights("rate-limits.weights")),
        }
            .Validated();
    }

    private FantasySettings Validated()
    {
        if (Connection.MaxAgeJitter >= Connection.MaxAge)
        {
            throw new ConfigurationException(
                $"fantasy.connection.max-age-jitter ({Connection.MaxAgeJitter}) must be smaller than fantasy.connection.max-age ({Connection.MaxAge})");
        }

        if (Session.SessionIdleTimeout < Session.IdleCloseAfter)
        {
            throw new ConfigurationException(
                $"fantasy.session.session-idle-timeout ({Session.SessionIdleTimeout}) must not be shorter than fantasy.session.idle-close-after ({Session.IdleCloseAfter})");
        }

        if (Http.MaxBackoff < Http.InitialBackoff)
        {
            throw new ConfigurationException("fantasy.http.max-backoff must not be smaller than fantasy.http.initial-backoff");
        }

        if (Persistence.Enabled && string.IsNullOrWhiteSpace(Persistence.ConnectionString))
        {
            throw new ConfigurationException($"fantasy.persistence.connection-string is required with provider {Persistence.Provider}");
        }

        if (Persistence.Enabled && Persistence.Retention > TimeSpan.Zero && Persistence.Retention < Session.SessionIdleTimeout)
        {
            // A conversation purged while its session still holds it in memory would be written on as a continuation of
            // records that are gone.
            throw new ConfigurationException(
                $"fantasy.persistence.retention ({Persistence.Retention}) must be 0 or at least fantasy.session.session-idle-timeout ({Session.SessionIdleTimeout})");
        }

        if (Fallback.MaxCooldown < Fallback.Cooldown)
        {
            throw new ConfigurationException("fantasy.fallback.max-cooldown must not be smaller than fantasy.fallback.cooldown");
        }

        return this;
    }

    private static Config LoadDefaultConfig()
    {
        using var stream = typeof(FantasySettings).Assembly.GetManifestResourceStream(ResourceName)
                           ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>Typed reads that name the full path of a bad value.</summary>
    private sealed class Reader(Config config)
    {
        private static string Full(string path) => "fantasy." + path;

        public string String(string path) => Read(path, () => config.GetString(path) ?? string.Empty);

        public bool Bool(string path) => Read(path, () => config.GetBoolean(path));

        public int Int(string path, int min)
        {
            var v = Read(path, () => config.GetInt(path));
            return v >= min ? v : throw new ConfigurationException($"{Full(path)} must be at least {min}, was {v}");
        }

        public double Double(string path, double min)
        {
            var v = Read(path, () => config.GetDouble(path));
            return v >= min
                ? v
                : throw new ConfigurationException($"{Full(path)} must be at least {min.ToString(CultureInfo.InvariantCulture)}, was {v.ToString(CultureInfo.InvariantCulture)}");
        }

        /// <summary>A section of positive numbers by name (tenant weights).</summary>
        public Dictionary<string, double> Weights(string path)
        {
            var weights = new Dictionary<string, double>(StringComparer.Ordinal);
            if (!config.HasPath(path))
            {
                return weights;
            }

            foreach (var (name, _) in Read(path, () => config.GetConfig(path).AsEnumerable().ToList()))
            {
                var tenant = name.Trim('"');
                var v = Read(path + "." + name, () => config.GetConfig(path).GetDouble(name));
                weights[tenant] = v > 0 && double.IsFinite(v)
                    ? v
                    : throw new ConfigurationException($"{Full(path)}.{tenant} must be a positive number, was {v.ToString(CultureInfo.InvariantCulture)}");
            }

            return weights;
        }

        public TimeSpan Positive(string path)
        {
            var v = Read(path, () => config.GetTimeSpan(path, allowInfinite: false));
            return v > TimeSpan.Zero ? v : throw new ConfigurationException($"{Full(path)} must be a positive duration, was {v}");
        }

        public TimeSpan NonNegative(string path)
        {
            var v = Read(path, () => config.GetTimeSpan(path, allowInfinite: false));
            return v >= TimeSpan.Zero ? v : throw new ConfigurationException($"{Full(path)} must not be negative, was {v}");
        }

        public long Bytes(string path, long min)
        {
            var v = Read(path, () => config.GetByteSize(path)) ?? throw new ConfigurationException($"{Full(path)} is missing");
            return v >= min ? v : throw new ConfigurationException($"{Full(path)} must be at least {min} bytes, was {v}");
        }

        public Uri AbsoluteUri(string path, params string[] schemes)
        {
            var s = String(path);
            var allowed = schemes.Length == 0 ? ["http", "https"] : schemes;
            return Uri.TryCreate(s, UriKind.Absolute, out var uri) && allowed.Contains(uri.Scheme)
                ? uri
                : throw new ConfigurationException($"{Full(path)} must be an absolute {string.Join("/", allowed)} URL, was '{s}'");
        }

        private T Read<T>(string path, Func<T> read)
        {
            if (!config.HasPath(path))
            {
                throw new ConfigurationException($"{Full(path)} is missing");
            }

            try
            {
                return read();
            }
            catch (Exception ex) when (ex is not ConfigurationException)
            {
                throw new ConfigurationException($"{Full(path)} is not valid: {ex.Message}", ex);
            }
        }
    }
}
