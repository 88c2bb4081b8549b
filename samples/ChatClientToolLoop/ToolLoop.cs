using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Extensions.AI;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.AI;

namespace Fantasy.Samples.ChatClientToolLoop;

/// <summary>The sample: a few rounds of a tool-using conversation, each round's answer printed with its transport.</summary>
public static class ToolLoop
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
        var model = Arg(args, "--model") ?? "gpt-5-mini";
        var rounds = int.Parse(Arg(args, "--rounds") ?? "4", System.Globalization.CultureInfo.InvariantCulture);

        // No key: the embedded simulator, whose model calls a tool when asked to "CALL <tool> <n>".
        await using var simulator = key is null ? await ResponsesSimulator.StartAsync() : null;
        var upstream = simulator is null ? "" : $"""
            fantasy.upstream.base-url = "{simulator.BaseUrl}"
            fantasy.upstream.websocket-url = "{simulator.WebSocketUrl}"
            """;
        using var system = ActorSystem.Create("sample", ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + upstream).WithFallback(FantasySettings.DefaultConfig));
        var sessions = new ResponsesSessions(system, new UpstreamCredentials(key ?? "sk-simulator"));

        using var chat = new ChatClientBuilder(sessions.AsChatClient(new ResponsesSessionChatClientOptions { Tenant = "sample", DefaultModel = model }))
            .UseFunctionInvocation()
            .Build();
        var options = new ChatOptions
        {
            Instructions = "You are a terse assistant. Use the tools when they help.",
            Tools =
            [
                AIFunctionFactory.Create((int index, int of) => $"lookup result {index + 1} of {of}: 42", "lookup", "Looks a fact up."),
                AIFunctionFactory.Create((int index, int of) => "sunny, 21 °C", "weather", "Today's weather."),
            ],
        };

        for (var round = 0; round < rounds; round++)
        {
            var question = simulator is not null
                ? $"round {round}: CALL {(round % 2 == 0 ? "lookup" : "weather")} 1"
                : round % 2 == 0 ? "Look up the answer to everything." : "What's the weather like?";
            ChatMessage[] messages = [new(ChatRole.User, question)];
            var response = await chat.GetResponseAsync(messages, options);
            options.ConversationId = response.ConversationId; // the next round sends only its new message
            await output.WriteLineAsync($"round {round}: {response.Text}  [conversation {response.ConversationId}, {response.Usage?.TotalTokenCount} tokens]");
        }

        if (simulator is not null)
        {
            await output.WriteLineAsync($"upstream: {simulator.Counters.ConnectionsOpened} socket(s), {simulator.Counters.ResponseCreateFrames} requests, {simulator.Counters.ChainedRequests} of them deltas");
        }

        await system.Terminate();
        return 0;
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
