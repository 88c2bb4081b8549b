using Fantasy.Actors.Configuration;
using System.Collections.Concurrent;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Simulator;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Xunit.Abstractions;
using static Fantasy.Actors.Connections.ConnectionProtocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Connections;

/// <summary>
/// The connection logs through Akka's logger; with Akka.Logger.Serilog configured (as the Host does),
/// its events reach Serilog with the connection epoch and turn id as properties, and never the key.
/// </summary>
public sealed class ConnectionLoggingSpecs : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const string SecretKey = "sk-log-secret-0123456789";
    private static readonly Capture Sink = new();

    private static readonly Config SerilogConfig = ConfigurationFactory.ParseString("""
        akka.loglevel = DEBUG
        akka.loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
        akka.logger-formatter = "Akka.Logger.Serilog.SerilogLogMessageFormatter, Akka.Logger.Serilog"
        """);

    private readonly WebSocketConnector connector = new();
    private ResponsesSimulator sim = null!;

    static ConnectionLoggingSpecs()
    {
        // The Serilog logger actor writes to the static Serilog logger; only this class configures it.
        Serilog.Log.Logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(Sink).CreateLogger();
    }

    public ConnectionLoggingSpecs(ITestOutputHelper output)
        : base(SerilogConfig, "connection-logging-specs", output)
    {
    }

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { ApiKeys = [SecretKey] });

    public async Task DisposeAsync()
    {
        await sim.DisposeAsync();
        connector.Dispose();
    }

    private ConnectionOptions Options(long epoch, string key) =>
        new(sim.WebSocketUrl, new UpstreamCredentials(key, null, null), epoch,
            ConnectTimeout: TimeSpan.FromSeconds(10),
            MaxMessageSize: 1024 * 1024,
            KeepAliveInterval: TimeSpan.Zero,
            TurnWatchdog: TimeSpan.FromMinutes(5),
            OpenAIBeta: null,
            UserAgent: null);

    [Fact]
    public async Task Connection_logs_should_carry_epoch_and_turn_id_as_properties()
    {
        var parent = CreateTestProbe();
        var replyTo = CreateTestProbe();
        var connection = Sys.ActorOf(ConnectionActor.Props(Options(epoch: 7301, SecretKey), parent.Ref, connector));
        await parent.ExpectMsgAsync<Connected>(Patience);

        connection.Tell(new StartTurn("turn-log-1", Frame(User("hello")), replyTo.Ref));
        await parent.FishForMessageAsync(m => m is TurnEnded, Patience);

        await AwaitConditionAsync(() => Task.FromResult(Sink.Events.Any(e => Text(e).Contains("turn-log-1", StringComparison.Ordinal)
                                                                               && Text(e).Contains("ended", StringComparison.Ordinal))), Patience);
        var ended = Sink.Events.First(e => Text(e).Contains("turn-log-1", StringComparison.Ordinal) && Text(e).Contains("ended", StringComparison.Ordinal));
        Assert.Equal("7301", ended.Properties["ConnectionEpoch"].ToString());
        Assert.Equal("\"turn-log-1\"", ended.Properties["TurnId"].ToString());
        Assert.Equal("Completed", ended.Properties["Status"].ToString().Trim('"'));

        var opened = Sink.Events.First(e => Text(e).Contains("7301: open", StringComparison.Ordinal));
        Assert.Equal("7301", opened.Properties["ConnectionEpoch"].ToString());
        Assert.False(opened.Properties.ContainsKey("TurnId"));
        AssertKeyNeverLogged(SecretKey);
    }

    [Fact]
    public async Task A_refused_connect_should_be_logged_without_the_key()
    {
        const string wrongKey = "sk-wrong-secret-9876543210";
        var parent = CreateTestProbe();
        Sys.ActorOf(ConnectionActor.Props(Options(epoch: 7302, wrongKey), parent.Ref, connector));
        await parent.ExpectMsgAsync<ConnectFailed>(Patience);

        await AwaitConditionAsync(() => Task.FromResult(Sink.Events.Any(e => e.Level == LogEventLevel.Warning && Text(e).Contains("7302", StringComparison.Ordinal))), Patience);
        var warning = Sink.Events.First(e => e.Level == LogEventLevel.Warning && Text(e).Contains("7302", StringComparison.Ordinal));
        Assert.Contains("401", Text(warning), StringComparison.Ordinal);
        AssertKeyNeverLogged(wrongKey);
    }

    private static string Text(LogEvent e) => e.RenderMessage(CultureInfo.InvariantCulture);

    private static void AssertKeyNeverLogged(string key)
    {
        foreach (var e in Sink.Events)
        {
            using var text = new StringWriter();
            e.RenderMessage(text, CultureInfo.InvariantCulture);
            foreach (var (_, value) in e.Properties)
            {
                text.Write(value.ToString());
            }

            text.Write(e.Exception?.ToString());
            Assert.DoesNotContain(key, text.ToString(), StringComparison.Ordinal);
        }
    }

    private sealed class Capture : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> events = new();

        public IReadOnlyCollection<LogEvent> Events => events;

        public void Emit(LogEvent logEvent) => events.Enqueue(logEvent);
    }
}
