using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>The service started the way an embedding application starts it: a generic Host and DI.</summary>
public sealed class HostingSpecs : IAsyncLifetime
{
    private ResponsesSimulator sim = null!;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync();

    public async Task DisposeAsync() => await sim.DisposeAsync();

    [Fact]
    public async Task AddFantasyActors_in_a_generic_host_runs_a_turn()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fantasy:Upstream:ApiKey"] = "sk-hosted",
            ["Fantasy:Upstream:WebSocketUrl"] = sim.WebSocketUrl.ToString(),
            ["Fantasy:Upstream:BaseUrl"] = sim.BaseUrl.ToString(),
            ["Fantasy:Hocon"] = "fantasy.session.max-queued-turns = 4",
        });
        builder.Services.AddFantasyActors(builder.Configuration.GetSection("Fantasy"), o => o.UseSerilog = false);

        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var sessions = host.Services.GetRequiredService<IResponsesSessions>();
            var end = await sessions.RunTurnToEndAsync(new SessionKey("hosted", "c1"), Request(User("hi"))).WaitAsync(TimeSpan.FromSeconds(20));

            Assert.Equal(TurnOutcome.Completed, end.Outcome);
            Assert.Equal("ok: 1", end.Result.Text);
            Assert.Equal("Bearer sk-hosted", sim.Counters.LastHandshakeHeaders["Authorization"]);
            Assert.Equal(4, ((ResponsesSessions)sessions).Settings.Session.MaxQueuedTurns);

            // The HTTP fallback runs on the factory's named client.
            sim.Faults.RefuseUpgrades(new HttpFault(426));
            var overHttp = await sessions.RunTurnToEndAsync(new SessionKey("hosted", "c2"), Request(User("hi"))).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(Transport.Http, overHttp.Transport);
            Assert.Equal(TurnOutcome.Completed, overHttp.Outcome);
            Assert.NotNull(host.Services.GetService<IHttpClientFactory>());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task AddFantasyActors_reads_the_persistence_section_and_a_second_host_continues_the_conversation()
    {
        var dir = Directory.CreateTempSubdirectory("fantasy-hosted-");
        try
        {
            string? last = null;
            for (var process = 0; process < 2; process++)
            {
                var builder = Host.CreateApplicationBuilder();
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Fantasy:Upstream:ApiKey"] = "sk-hosted",
                    ["Fantasy:Upstream:WebSocketUrl"] = sim.WebSocketUrl.ToString(),
                    ["Fantasy:Upstream:BaseUrl"] = sim.BaseUrl.ToString(),
                    ["Fantasy:Persistence:Provider"] = "Sqlite",
                    ["Fantasy:Persistence:ConnectionString"] = $"Data Source={Path.Combine(dir.FullName, "hosted.db")}",
                });
                builder.Services.AddFantasyActors(builder.Configuration.GetSection("Fantasy"), o => o.UseSerilog = false);
                using var host = builder.Build();
                await host.StartAsync();
                try
                {
                    var sessions = (ResponsesSessions)host.Services.GetRequiredService<IResponsesSessions>();
                    Assert.True(sessions.Journal.Enabled);
                    var end = await sessions.RunTurnToEndAsync(new SessionKey("hosted", "durable"), Request(User($"round {process}")),
                        new TurnOptions { PreviousResponseId = last }).WaitAsync(Patience);
                    Assert.Equal(TurnOutcome.Completed, end.Outcome);

                    // The second host sends the first host's turn as context: "ok: 3" = round 0, its answer, round 1.
                    Assert.Equal(process == 0 ? "ok: 1" : "ok: 3", end.Result.Text);
                    last = end.ResponseId;
                }
                finally
                {
                    await host.StopAsync();
                }
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_api_resolved_before_the_host_starts_waits_for_the_session_manager()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fantasy:Upstream:ApiKey"] = "sk-hosted",
            ["Fantasy:Upstream:WebSocketUrl"] = sim.WebSocketUrl.ToString(),
            ["Fantasy:Upstream:BaseUrl"] = sim.BaseUrl.ToString(),
        });
        builder.Services.AddFantasyActors(builder.Configuration.GetSection("Fantasy"), o => o.UseSerilog = false);
        using var host = builder.Build();

        // Resolved and used before the actor system has started its actors: no throw, the turn waits.
        var sessions = host.Services.GetRequiredService<IResponsesSessions>();
        var turn = sessions.RunTurnToEndAsync(new SessionKey("hosted", "early"), Request(User("hi")));
        await host.StartAsync();
        try
        {
            var end = await turn.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(TurnOutcome.Completed, end.Outcome);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void A_missing_key_is_a_clear_startup_error()
    {
        // Whatever this machine's environment holds: the key is looked up in an empty one.
        var options = new FantasyOptions { WebSocketUrl = sim.WebSocketUrl };
        var ex = Assert.Throws<InvalidOperationException>(() => options.Credentials(_ => null));
        Assert.Contains("OPENAI_API_KEY", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Fantasy:Upstream:ApiKey", ex.Message, StringComparison.Ordinal);
        Assert.Equal("sk-env", options.Credentials(name => name == "OPENAI_API_KEY" ? "sk-env" : null).ApiKey);

        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Upstream:BaseUrl"] = "not a url" }).Build();
        var urlError = Assert.Throws<InvalidOperationException>(() => FantasyOptions.FromConfiguration(bad));
        Assert.Contains("Fantasy:Upstream:BaseUrl", urlError.Message, StringComparison.Ordinal);
    }
}
