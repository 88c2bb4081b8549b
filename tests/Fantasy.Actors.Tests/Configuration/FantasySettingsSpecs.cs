using Akka.Configuration;
using Fantasy.Actors.Configuration;

namespace Fantasy.Actors.Tests.Configuration;

public sealed class FantasySettingsSpecs
{
    [Fact]
    public void Defaults_come_from_the_embedded_fantasy_conf()
    {
        var s = FantasySettings.Default;

        Assert.Equal(new Uri("https://api.openai.com/v1"), s.Upstream.BaseUrl);
        Assert.Equal(new Uri("wss://api.openai.com/v1/responses"), s.Upstream.WebSocketUrl);
        Assert.Equal("responses_websockets=2026-02-06", s.Upstream.OpenAIBeta);
        Assert.Equal(TimeSpan.FromMinutes(55), s.Connection.MaxAge);
        Assert.Equal(TimeSpan.FromMinutes(2), s.Connection.MaxAgeJitter);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Connection.ConnectTimeout);
        Assert.Equal(64L * 1024 * 1024, s.Connection.MaxMessageSize);
        Assert.Equal(TimeSpan.FromMinutes(5), s.Connection.TurnWatchdog);
        Assert.Equal(16, s.Session.MaxQueuedTurns);
        Assert.Equal(TimeSpan.FromMinutes(5), s.Session.IdleCloseAfter);
        Assert.False(s.Session.WarmOnRotate);
        Assert.Equal(2, s.Http.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), s.Http.InitialBackoff);
        Assert.Equal(TimeSpan.FromSeconds(8), s.Http.MaxBackoff);
        Assert.Equal(TimeSpan.FromMinutes(5), s.Fallback.Cooldown);
        Assert.Equal(2.0, s.Fallback.BackoffFactor);
    }

    [Fact]
    public void The_repo_file_and_the_embedded_copy_are_the_same()
    {
        // The file under hocon/ is what people read and edit; the build embeds it.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "hocon", "fantasy.conf")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var fromFile = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(dir.FullName, "hocon", "fantasy.conf")));
        Assert.Equal(FantasySettings.Default, FantasySettings.FromConfig(fromFile));
    }

    [Fact]
    public void Overrides_are_layered_over_the_defaults()
    {
        var s = FantasySettings.FromConfig(ConfigurationFactory.ParseString("""
            fantasy.upstream.base-url = "http://127.0.0.1:5099/v1"
            fantasy.connection.max-age = 90s
            fantasy.connection.max-age-jitter = 0s
            fantasy.connection.max-message-size = 1MiB
            fantasy.session.max-queued-turns = 0
            """));

        Assert.Equal(new Uri("ws://127.0.0.1:5099/v1/responses"), s.Upstream.WebSocketUrl);
        Assert.Equal(TimeSpan.FromSeconds(90), s.Connection.MaxAge);
        Assert.Equal(TimeSpan.Zero, s.Connection.MaxAgeJitter);
        Assert.Equal(1024 * 1024, s.Connection.MaxMessageSize);
        Assert.Equal(0, s.Session.MaxQueuedTurns);
        Assert.Equal(2, s.Http.MaxRetries);
    }

    [Fact]
    public void An_explicit_websocket_url_wins()
    {
        var s = FantasySettings.FromConfig(ConfigurationFactory.ParseString("""
            fantasy.upstream.websocket-url = "wss://gateway.example/openai/v1/responses"
            """));

        Assert.Equal(new Uri("wss://gateway.example/openai/v1/responses"), s.Upstream.WebSocketUrl);
    }

    [Theory]
    [InlineData("fantasy.connection.max-age = -5m", "fantasy.connection.max-age")]
    [InlineData("fantasy.connection.max-age-jitter = 60m", "fantasy.connection.max-age-jitter")]
    [InlineData("fantasy.session.max-queued-turns = -1", "fantasy.session.max-queued-turns")]
    [InlineData("fantasy.session.max-queued-turns = lots", "fantasy.session.max-queued-turns")]
    [InlineData("fantasy.upstream.base-url = \"not a url\"", "fantasy.upstream.base-url")]
    [InlineData("fantasy.upstream.websocket-url = \"https://x/responses\"", "fantasy.upstream.websocket-url")]
    [InlineData("fantasy.http.max-in-flight = 0", "fantasy.http.max-in-flight")]
    [InlineData("fantasy.fallback.backoff-factor = 0.5", "fantasy.fallback.backoff-factor")]
    [InlineData("fantasy.connection.max-message-size = 10", "fantasy.connection.max-message-size")]
    [InlineData("fantasy.persistence.provider = mongodb", "fantasy.persistence.provider")]
    [InlineData("fantasy.persistence.provider = sqlite", "fantasy.persistence.connection-string")]
    [InlineData("fantasy.persistence.on-failure = ignore", "fantasy.persistence.on-failure")]
    [InlineData("fantasy.persistence.encryption-key = \"c2hvcnQ=\"", "fantasy.persistence.encryption-key")]
    [InlineData("fantasy.persistence.encryption-key = \"not base64!\"", "fantasy.persistence.encryption-key")]
    [InlineData("fantasy.persistence { provider = sqlite, connection-string = \"Data Source=x.db\", retention = 10m }", "fantasy.persistence.retention")]
    public void Invalid_values_stop_startup_naming_the_key(string hocon, string key)
    {
        var ex = Assert.Throws<ConfigurationException>(() => FantasySettings.FromConfig(ConfigurationFactory.ParseString(hocon)));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://api.openai.com/v1", "wss://api.openai.com/v1/responses")]
    [InlineData("https://api.openai.com/v1/", "wss://api.openai.com/v1/responses")]
    [InlineData("http://127.0.0.1:8080/v1", "ws://127.0.0.1:8080/v1/responses")]
    [InlineData("https://res.openai.azure.com/openai/v1", "wss://res.openai.azure.com/openai/v1/responses")]
    public void The_websocket_url_is_derived_from_the_base_url(string baseUrl, string expected)
    {
        Assert.Equal(new Uri(expected), UpstreamSettings.DeriveWebSocketUrl(new Uri(baseUrl)));
    }

    [Fact]
    public void Persistence_is_off_by_default_and_its_settings_become_the_plugin_configuration()
    {
        Assert.False(FantasySettings.Default.Persistence.Enabled);
        Assert.True(FantasySettings.Default.Persistence.ToAkkaConfig().IsEmpty);

        var s = FantasySettings.FromConfig(ConfigurationFactory.ParseString("""
            fantasy.persistence { provider = postgresql, connection-string = "Host=db;Database=fantasy", on-failure = in-memory, retention = 0 }
            """)).Persistence;
        Assert.Equal((PersistenceProvider.PostgreSql, PersistenceFailureMode.InMemory, TimeSpan.Zero), (s.Provider, s.OnFailure, s.Retention));
        var plugin = s.ToAkkaConfig();
        Assert.Equal("Host=db;Database=fantasy", plugin.GetString(PersistenceSettings.JournalPluginId + ".connection-string"));
        Assert.Equal("PostgreSQL.15", plugin.GetString(PersistenceSettings.SnapshotPluginId + ".provider-name"));
        Assert.Equal("Csv", plugin.GetString(PersistenceSettings.JournalPluginId + ".tag-write-mode"));
    }
}
