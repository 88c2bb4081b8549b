using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Extensions.AI;
using Fantasy.Actors.Simulator;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Fantasy.Samples.FrameworkAgent;

/// <summary>The sample: an agent with one tool, three turns in one agent session.</summary>
public static class AgentSample
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
        var i = Array.IndexOf(args, "--model");
        var model = i >= 0 && i + 1 < args.Length ? args[i + 1] : "gpt-5-mini";

        await using var simulator = key is null ? await ResponsesSimulator.StartAsync() : null;
        var upstream = simulator is null ? "" : $"""
            fantasy.upstream.base-url = "{simulator.BaseUrl}"
            fantasy.upstream.websocket-url = "{simulator.WebSocketUrl}"
            """;
        using var system = ActorSystem.Create("agent-sample", ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + upstream).WithFallback(FantasySettings.DefaultConfig));
        var sessions = new ResponsesSessions(system, new UpstreamCredentials(key ?? "sk-simulator"));

        var lookup = AIFunctionFactory.Create((int index, int of) => $"fact {index + 1} of {of}: the answer is 42", "lookup", "Looks a fact up.");
        var agent = new ChatClientAgent(sessions.AsChatClient(new ResponsesSessionChatClientOptions { Tenant = "sample", DefaultModel = model }),
            instructions: "You are a terse research assistant.", name: "researcher", tools: [lookup]);
        var session = await agent.CreateSessionAsync();

        string[] turns = simulator is not null
            ? ["CALL lookup 1", "thanks, and now?", "CALL lookup 1"]
            : ["Look up the answer to everything.", "Say it in one word.", "Look it up once more."];
        foreach (var turn in turns)
        {
            var response = await agent.RunAsync(turn, session);
            await output.WriteLineAsync($"> {turn}\n{response.Text}");
        }

        if (simulator is not null)
        {
            await output.WriteLineAsync($"upstream: {simulator.Counters.ConnectionsOpened} socket(s), {simulator.Counters.ResponseCreateFrames} requests, {simulator.Counters.ChainedRequests} of them deltas");
        }

        await system.Terminate();
        return 0;
    }
}
