using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Extensions.AI;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.AI;

namespace Fantasy.Samples.ChatClientToolLoop;

/// <summary>
/// The sample: a few rounds of a tool-using conversation, each round's answer printed with its transport. With
/// <c>--store "Data Source=chat.db"</c> the conversation is kept in a SQLite file, and a later run with the same
/// <c>--conversation</c> continues it (<c>--first-round</c> numbers its rounds on); <c>--upstream</c> points it at a
/// running simulator or endpoint instead of an embedded simulator.
/// </summary>
public static class ToolLoop
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
        var model = Arg(args, "--model") ?? "gpt-5-mini";
        var rounds = int.Parse(Arg(args, "--rounds") ?? "4", System.Globalization.CultureInfo.InvariantCulture);
        var firstRound = int.Parse(Arg(args, "--first-round") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var external = Arg(args, "--upstream");
        var store = Arg(args, "--store");

        // No key and no upstream: the embedded simulator, whose model calls a tool when asked to "CALL <tool> <n>".
        await using var simulator = key is null && external is null ? await ResponsesSimulator.StartAsync() : null;
        var simulated = key is null;
        var baseUrl = external ?? simulator?.BaseUrl.ToString();
        var upstream = baseUrl is null ? "" : $"fantasy.upstream.base-url = \"{baseUrl}\"";
        var persistence = store is null ? "" : $"fantasy.persistence {{ provider = sqlite, connection-string = \"{store}\" }}";
        var config = ConfigurationFactory.ParseString($"akka.loglevel = WARNING\n{upstream}\n{persistence}").WithFallback(FantasySettings.DefaultConfig);
        using var system = ActorSystem.Create("sample", FantasySettings.WithPlugins(config));
        var sessions = new ResponsesSessions(system, new UpstreamCredentials(key ?? "sk-simulator"), FantasySettings.FromConfig(config));

        using var chat = new ChatClientBuilder(sessions.AsChatClient(new ResponsesSessionChatClientOptions { Tenant = "sample", DefaultModel = model }))
            .UseFunctionInvocation()
            .Build();
        var options = new ChatOptions
        {
            ConversationId = Arg(args, "--conversation"),
            Instructions = "You are a terse assistant. Use the tools when they help.",
            Tools =
            [
                AIFunctionFactory.Create((int index, int of) => $"lookup result {index + 1} of {of}: 42", "lookup", "Looks a fact up."),
                AIFunctionFactory.Create((int index, int of) => "sunny, 21 °C", "weather", "Today's weather."),
            ],
        };

        for (var round = firstRound; round < firstRound + rounds; round++)
        {
            var question = simulated
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
