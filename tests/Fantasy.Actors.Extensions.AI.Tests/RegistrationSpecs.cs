using System.Collections.Concurrent;
using System.Diagnostics;
using Fantasy.Actors.Api;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary>
/// <c>AddFantasyActors</c> then <c>AddFantasyChatClient</c> in a generic host, with MEAI's function invocation,
/// OpenTelemetry and logging composed on the builder it returns.
/// </summary>
public sealed class RegistrationSpecs : IAsyncLifetime
{
    private ResponsesSimulator sim = null!;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 16 });

    public async Task DisposeAsync() => await sim.DisposeAsync();

    [Fact]
    public async Task The_registered_chat_client_composes_with_function_invocation_OpenTelemetry_and_logging()
    {
        const string meaiSource = "spec-meai-registration";
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is meaiSource or TurnTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var logs = new ConcurrentQueue<string>();

        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fantasy:Upstream:ApiKey"] = "sk-registered",
            ["Fantasy:Upstream:WebSocketUrl"] = sim.WebSocketUrl.ToString(),
            ["Fantasy:Upstream:BaseUrl"] = sim.BaseUrl.ToString(),
        });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(new QueueLoggerProvider(logs));
        builder.Services.AddFantasyActors(builder.Configuration.GetSection("Fantasy"), o => o.UseSerilog = false);
        builder.Services.AddFantasyChatClient(o =>
            {
                o.Tenant = "registered";
                o.DefaultModel = "m-registered";
            })
            .UseFunctionInvocation()
            .UseOpenTelemetry(sourceName: meaiSource)
            .UseLogging();

        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var chat = host.Services.GetRequiredService<IChatClient>();
            Assert.Same(host.Services.GetRequiredService<IResponsesSessions>(), chat.GetService<IResponsesSessions>());
            var metadata = chat.GetService<ChatClientMetadata>();
            Assert.Equal("openai", metadata?.ProviderName);
            Assert.Equal("m-registered", metadata?.DefaultModelId);

            var calls = 0;
            var options = new ChatOptions
            {
                Tools = [AIFunctionFactory.Create((int index, int of) => { calls++; return $"found {index + 1} of {of}"; }, "lookup", "Looks something up.")],
            };
            var first = await chat.GetResponseAsync("CALL lookup 2", options).WaitAsync(Patience);
            options.ConversationId = first.ConversationId;
            var second = await chat.GetResponseAsync("and again: CALL lookup 1", options).WaitAsync(Patience);

            // Function invocation ran the tools; every model call after the first was a delta on the one socket.
            Assert.Equal(3, calls);
            Assert.Equal(first.ConversationId, second.ConversationId);
            Assert.Equal(1, sim.Counters.ConnectionsOpened);
            Assert.Equal(4, sim.Counters.ResponseCreateFrames); // two calls answered with tools, two with text
            Assert.Equal(3, sim.Counters.ChainedRequests);
            Assert.Equal("Bearer sk-registered", sim.Counters.LastHandshakeHeaders["Authorization"]);

            // MEAI's own span per model call, each with this service's turn span beneath it.
            var meai = spans.Where(s => s.Source.Name == meaiSource && s.DisplayName.StartsWith("chat", StringComparison.Ordinal)).ToList();
            var turns = spans.Where(s => s.Source.Name == TurnTelemetry.ActivitySourceName && (string?)s.GetTagItem("fantasy.tenant") == "registered").ToList();
            Assert.Equal(4, turns.Count);
            Assert.All(turns, t => Assert.Contains(meai, m => m.SpanId == t.ParentSpanId));
            Assert.All(turns, t => Assert.Equal("m-registered", t.GetTagItem("gen_ai.request.model")));

            // MEAI's logging client saw the calls.
            Assert.Contains(logs, l => l.Contains("GetResponseAsync invoked", StringComparison.Ordinal));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(lines);

        public void Dispose()
        {
        }

        private sealed class QueueLogger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
