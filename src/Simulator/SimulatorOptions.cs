namespace Fantasy.Actors.Simulator;

/// <summary>How a <see cref="ResponsesSimulator"/> starts. Faults and latency can also change while it runs (<see cref="SimulatorFaults"/>).</summary>
public sealed record SimulatorOptions
{
    /// <summary>Port on 127.0.0.1; 0 picks a free one (see <see cref="ResponsesSimulator.Port"/>).</summary>
    public int Port { get; init; }

    /// <summary>Accepted bearer keys. Empty: any non-empty bearer token is accepted.</summary>
    public IReadOnlyCollection<string> ApiKeys { get; init; } = [];

    /// <summary>How long a WebSocket may live before <c>websocket_connection_limit_reached</c> (the real service: 60 minutes).</summary>
    public TimeSpan ConnectionLifetime { get; init; } = TimeSpan.FromMinutes(60);

    /// <summary>Push the limit error unsolicited to an idle socket when its lifetime runs out (else only as the reply to the next request).</summary>
    public bool PushLimitErrorWhenIdle { get; init; }

    /// <summary>Extra delay of a <c>previous_response_id</c> resolved from the persisted store rather than the connection's cache.</summary>
    public TimeSpan StoreLoadDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>End SSE streams with <c>data: [DONE]</c> (the Open Responses spec; OpenAI itself does not).</summary>
    public bool SseDone { get; init; }

    /// <summary>Largest inbound WebSocket message; larger closes the socket with 1009 (one real backend: 16 MiB).</summary>
    public int MaxInboundMessageBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>How many request bodies the counters keep.</summary>
    public int KeepLastRequests { get; init; } = 32;

    /// <summary>
    /// The organization's requests per minute, shared by every connection and HTTP call (0: no limit). Over it, a
    /// request is answered 429 <c>rate_limit_exceeded</c> saying when it would fit; every HTTP answer carries the
    /// real remaining budget in <c>x-ratelimit-*</c>.
    /// </summary>
    public int RequestsPerMinute { get; init; }

    /// <summary>The organization's tokens per minute (0: no limit); a request is charged its body's bytes / 4 plus 16.</summary>
    public int TokensPerMinute { get; init; }

    /// <summary>The clock of the organization's budget (tests move one by hand).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Delay before the first event of every response (model time).</summary>
    public TimeSpan FirstEventLatency { get; init; }

    /// <summary>Delay between events (network and token time).</summary>
    public TimeSpan PerEventLatency { get; init; }

    /// <summary>Server-side WebSocket ping interval; zero sends none (the client's pings are always answered).</summary>
    public TimeSpan KeepAliveInterval { get; init; }

    /// <summary>Write Kestrel and request logs to the console (the standalone runner turns this on).</summary>
    public bool ConsoleLogging { get; init; }
}
