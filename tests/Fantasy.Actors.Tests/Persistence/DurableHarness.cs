using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Fantasy.Actors.Api;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>
/// A service "process" for the durable-state specs: its own actor system over a real database (a SQLite file or
/// the throwaway PostgreSQL server), sessions against the simulator. Stopping it and starting another over the same
/// database is a restart.
/// </summary>
internal sealed class DurableService : IAsyncDisposable
{
    private DurableService(ActorSystem system, ResponsesSessions sessions)
    {
        System = system;
        Sessions = sessions;
    }

    public ActorSystem System { get; }

    public ResponsesSessions Sessions { get; }

    public static DurableService Start(ResponsesSimulator sim, string provider, string connectionString, string extra = "")
    {
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = INFO
            fantasy.upstream.websocket-url = "{sim.WebSocketUrl}"
            fantasy.upstream.base-url = "{sim.BaseUrl}"
            fantasy.persistence.provider = {provider}
            fantasy.persistence.connection-string = "{connectionString}"
            fantasy.persistence.probe-interval = 200ms
            {extra}
            """).WithFallback(FantasySettings.DefaultConfig);
        var system = ActorSystem.Create("durable-" + Guid.NewGuid().ToString("N")[..8], FantasySettings.WithPlugins(config));
        return new DurableService(system, new ResponsesSessions(system, new UpstreamCredentials("sk-test"), FantasySettings.FromConfig(config)));
    }

    public async Task<TurnEnd> TurnAsync(SessionKey key, ResponseRequest request, string? previousResponseId = null) =>
        await Sessions.RunTurnToEndAsync(key, request, new TurnOptions { PreviousResponseId = previousResponseId }).WaitAsync(Patience);

    /// <summary>Every event of a turn, the terminal last.</summary>
    public async Task<List<TurnEvent>> EventsAsync(SessionKey key, ResponseRequest request, string? previousResponseId = null)
    {
        var events = new List<TurnEvent>();
        await foreach (var e in Sessions.RunTurnAsync(key, request, new TurnOptions { PreviousResponseId = previousResponseId }).WithCancellation(CancellationToken.None))
        {
            events.Add(e);
        }

        return events;
    }

    public async ValueTask DisposeAsync() => await System.Terminate().WaitAsync(Patience);
}

internal static class Sent
{
    /// <summary>The body of the simulator's last request.</summary>
    public static JsonElement Last(ResponsesSimulator sim) => JsonDocument.Parse(sim.Counters.LastRequests[^1].Body).RootElement;

    public static string? PreviousId(JsonElement body) =>
        body.TryGetProperty("previous_response_id", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    /// <summary>The texts of the input items of a request body, in order (user text, or the assistant's text).</summary>
    public static List<string> Texts(JsonElement body) =>
        [.. body.GetProperty("input").EnumerateArray().Select(TextOf)];

    /// <summary>An item's text (user text, or the assistant's text), or its type when it has no content.</summary>
    public static string TextOf(JsonElement item)
    {
        if (!item.TryGetProperty("content", out var content))
        {
            return item.GetProperty("type").GetString()!;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        return string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : string.Empty));
    }
}
