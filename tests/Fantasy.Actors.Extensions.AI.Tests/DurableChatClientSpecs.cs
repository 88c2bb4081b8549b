using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.AI;

namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary>
/// The stateful IChatClient pattern (a conversation id, only the new messages) continues from the session, not from
/// anything the client instance remembers: across a restart of the service (a new actor system over the same SQLite
/// file, a new client) the next round has the whole context.
/// </summary>
public sealed class DurableChatClientSpecs : IAsyncLifetime
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "fantasy-chat-" + Guid.NewGuid().ToString("N")[..10]);
    private ResponsesSimulator sim = null!;

    public async Task InitializeAsync() => sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 64 });

    public async Task DisposeAsync()
    {
        await sim.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private (ActorSystem System, ResponsesSessions Sessions) Service()
    {
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            fantasy.upstream.websocket-url = "{sim.WebSocketUrl}"
            fantasy.upstream.base-url = "{sim.BaseUrl}"
            fantasy.persistence.provider = sqlite
            fantasy.persistence.connection-string = "Data Source={Path.Combine(dir, "fantasy.db")}"
            """).WithFallback(FantasySettings.DefaultConfig);
        var system = ActorSystem.Create("chat-" + Guid.NewGuid().ToString("N")[..8], FantasySettings.WithPlugins(config));
        return (system, new ResponsesSessions(system, new UpstreamCredentials("sk-test"), FantasySettings.FromConfig(config)));
    }

    [Fact]
    public async Task A_function_invoking_loop_of_five_rounds_before_a_restart_and_five_after_keeps_its_whole_context()
    {
        var calls = new List<string>();
        var options = new ChatOptions
        {
            ModelId = "m",
            Instructions = "be brief",
            ConversationId = "support-42",
            Tools = [AIFunctionFactory.Create((int index, int of) => { calls.Add("lookup"); return $"found {index + 1} of {of}"; }, "lookup", "Looks something up.")],
        };
        var texts = new List<string>();
        for (var half = 0; half < 2; half++)
        {
            var (system, sessions) = Service();
            try
            {
                using var client = new ChatClientBuilder(sessions.AsChatClient()).UseFunctionInvocation().Build();
                for (var round = half * 5; round < half * 5 + 5; round++)
                {
                    var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, $"round {round}: CALL lookup 1")], options).WaitAsync(Patience);
                    Assert.Equal("support-42", response.ConversationId);
                    texts.Add(response.Text);
                }
            }
            finally
            {
                await system.Terminate();
            }
        }

        Assert.Equal(10, calls.Count);

        // "ok: N" is the context the upstream held before the round's last answer: 10 rounds × (user, call, result) and
        // the 9 earlier answers — the five rounds before the restart are all there after it, nothing sent twice.
        Assert.EndsWith("ok: 39", texts[^1], StringComparison.Ordinal);
        Assert.EndsWith("ok: 23", texts[5], StringComparison.Ordinal); // the first round after the restart: 6 × (user, call, result) + 5 answers
    }

    [Fact]
    public async Task The_sample_continues_a_conversation_in_a_second_process_with_its_whole_context()
    {
        // The ChatClientToolLoop sample as two processes, one after the other, on one SQLite file and this simulator:
        // each a new actor system and a new chat client, the second only naming the conversation.
        Directory.CreateDirectory(dir);
        var store = $"Data Source={Path.Combine(dir, "sample.db")}";
        var first = await RunSampleAsync("--rounds", "5", "--conversation", "resumed", "--store", store, "--upstream", sim.BaseUrl.ToString());
        var second = await RunSampleAsync("--rounds", "5", "--first-round", "5", "--conversation", "resumed", "--store", store, "--upstream", sim.BaseUrl.ToString());

        Assert.Contains("round 4:", first, StringComparison.Ordinal);
        // Round 9's answer counts the context before it: 10 rounds × (question, call, result) and 9 answers.
        Assert.Contains("round 9: tool results received: 1. ok: 39", second, StringComparison.Ordinal);
    }

    private static async Task<string> RunSampleAsync(params string[] args)
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory); // …/tests/<project>/bin/{Configuration}/{tfm}/
        var root = testDir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(root, "samples", "ChatClientToolLoop", "bin", testDir.Parent.Name, testDir.Name, "Fantasy.Samples.ChatClientToolLoop.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("OPENAI_API_KEY");
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Patience);
        Assert.True(process.ExitCode == 0, $"the sample exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        return await stdout;
    }

    [Fact]
    public async Task A_conversation_id_the_service_has_never_seen_starts_a_conversation_with_the_messages_as_its_input()
    {
        var (system, sessions) = Service();
        try
        {
            var client = sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" });
            var response = await client.GetResponseAsync(
                [new ChatMessage(ChatRole.User, "one"), new ChatMessage(ChatRole.User, "two")], new ChatOptions { ConversationId = "brand-new" }).WaitAsync(Patience);
            Assert.Equal("ok: 2", response.Text);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
