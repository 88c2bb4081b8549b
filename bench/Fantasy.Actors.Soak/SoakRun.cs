using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Host;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Soak;

/// <summary>What a soak run is asked to do.</summary>
internal sealed record SoakOptions
{
    public int Sessions { get; init; } = 1000;
    public int Turns { get; init; } = 20;

    /// <summary>How often a random upstream fault is injected.</summary>
    public TimeSpan FaultEvery { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long an upstream WebSocket lives before the simulator pushes the limit error (idle) or answers with it.</summary>
    public TimeSpan ConnectionLifetime { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A turn without a terminal after this long is hung.</summary>
    public TimeSpan TurnDeadline { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Share of turns whose client disconnects after the first event.</summary>
    public double DisconnectShare { get; init; } = 0.03;

    /// <summary>Attempts per turn on a retryable failure (as an SDK retries) before the client moves on.</summary>
    public int Attempts { get; init; } = 4;

    public TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(5);

    public int Seed { get; init; } = 13;

    /// <summary>The gateway's conversation store (<c>Fantasy:Persistence:Provider</c>): <c>None</c>, <c>Sqlite</c> or <c>PostgreSql</c>.</summary>
    public string Persistence { get; init; } = "None";

    /// <summary>Its connection string; for SQLite without one, a new file in a temp directory (deleted after).</summary>
    public string? ConnectionString { get; init; }
}

/// <summary>How one attempt of one turn ended, as the client saw it.</summary>
internal enum TurnClass
{
    /// <summary>Completed, and the model's <c>ok: N</c> counts exactly the client's conversation.</summary>
    Completed,

    /// <summary>Completed with a different count: context lost or duplicated.</summary>
    WrongContext,

    /// <summary>An error the client may retry (429, 5xx, a retryable error event).</summary>
    FailedRetryable,

    /// <summary>An error the client should not retry as it is (an injected 4xx, <c>response.failed</c>, incomplete).</summary>
    FailedOther,

    /// <summary>The client disconnected on purpose after the first event.</summary>
    Abandoned,

    /// <summary>No terminal within the deadline.</summary>
    Hung,

    /// <summary>More than one terminal event in one stream.</summary>
    TwoTerminals,

    /// <summary>A second <c>response.created</c> after the first: the turn was replayed after an event reached the client.</summary>
    ReplayedAfterFirstEvent,

    /// <summary>The stream ended without a terminal event.</summary>
    NoTerminal,
}

/// <summary>The counts of a run.</summary>
internal sealed class SoakReport
{
    private readonly long[] counts = new long[Enum.GetValues<TurnClass>().Length];

    public long this[TurnClass c] => Interlocked.Read(ref counts[(int)c]);

    public long Attempts => counts.Sum();

    public long FaultsInjected { get; internal set; }

    public long PeakWorkingSetBytes { get; internal set; }

    public TimeSpan Elapsed { get; internal set; }

    public SortedDictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

    /// <summary>No turn hung, none had two terminals or none, none was replayed after its first event, none had a wrong context.</summary>
    public bool Clean => this[TurnClass.Hung] == 0 && this[TurnClass.TwoTerminals] == 0 && this[TurnClass.ReplayedAfterFirstEvent] == 0
        && this[TurnClass.WrongContext] == 0 && this[TurnClass.NoTerminal] == 0;

    internal void Count(TurnClass c, string? detail = null)
    {
        Interlocked.Increment(ref counts[(int)c]);
        if (detail is not null)
        {
            lock (Failures)
            {
                Failures[detail] = Failures.GetValueOrDefault(detail) + 1;
            }
        }
    }

    public override string ToString() => string.Join(", ", Enum.GetValues<TurnClass>().Select(c => $"{c} {this[c]}"));
}

/// <summary>
/// S sessions × T turns through the gateway against the simulator, all in this process, with upstream faults
/// injected at random: the soak that proves a turn always ends exactly once with the right context.
/// Each session is a stateless caller sending its whole conversation; the scripted model answers
/// <c>ok: N</c> with N the items of the server-side context, so a lost or duplicated item shows.
/// </summary>
internal static class SoakRun
{
    public static async Task<SoakReport> RunAsync(SoakOptions options, TextWriter progress, CancellationToken cancellationToken = default)
    {
        var report = new SoakReport();
        await using var sim = await ResponsesSimulator.StartAsync(new SimulatorOptions
        {
            ConnectionLifetime = options.ConnectionLifetime,
            PushLimitErrorWhenIdle = true,
            KeepLastRequests = 0,
        }, cancellationToken);
        var scratch = options.Persistence.Equals("sqlite", StringComparison.OrdinalIgnoreCase) && options.ConnectionString is null
            ? Directory.CreateTempSubdirectory("fantasy-soak-")
            : null;
        using var cleanup = new ScratchDirectory(scratch);
        var connectionString = options.ConnectionString ?? (scratch is null ? string.Empty : $"Data Source={Path.Combine(scratch.FullName, "soak.db")}");
        await using var gateway = await Gateway.StartAsync([
            $"--Fantasy:Persistence:Provider={options.Persistence}",
            $"--Fantasy:Persistence:ConnectionString={connectionString}",
            "--urls", "http://127.0.0.1:0",
            $"--Fantasy:Upstream:BaseUrl={sim.BaseUrl}",
            $"--Fantasy:Upstream:WebSocketUrl={sim.WebSocketUrl}",
            "--Fantasy:Upstream:ApiKey=sk-soak",
            "--Fantasy:Tenants:soak:Keys:0=sk-soak-tenant",
            // Stalls are injected for 2 s; a silent socket is given up on well before the client's deadline.
            "--Fantasy:Logging:MinimumLevel=Error",
            "--Fantasy:Hocon=fantasy.connection.turn-watchdog = 10s\nfantasy.http.initial-backoff = 50ms\nfantasy.http.max-backoff = 200ms\nfantasy.fallback.cooldown = 2s\nfantasy.fallback.max-cooldown = 4s\nakka.loglevel = WARNING",
        ]);
        var baseUrl = gateway.BaseAddress.ToString().TrimEnd('/') + "/v1/responses";
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var done = 0L;
        var faults = Task.Run(() => InjectFaultsAsync(sim, options, report, stop.Token), CancellationToken.None);
        var reporter = Task.Run(() => ReportProgressAsync(options, report, () => Interlocked.Read(ref done), clock, progress, stop.Token), CancellationToken.None);
        await Task.WhenAll(Enumerable.Range(0, options.Sessions).Select(s => Task.Run(
            () => ConversationAsync(http, baseUrl, s, options, report, () => Interlocked.Increment(ref done), cancellationToken),
            cancellationToken))).ConfigureAwait(false);
        report.Elapsed = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(faults, reporter).ConfigureAwait(false);
        return report;
    }

    private static async Task ConversationAsync(HttpClient http, string url, int session, SoakOptions options, SoakReport report, Action turnDone, CancellationToken ct)
    {
        var random = new Random(options.Seed * 7919 + session);
        var items = new List<string>();
        var sessionId = $"soak-{session}";
        for (var turn = 0; turn < options.Turns; turn++)
        {
            items.Add(JsonSerializer.Serialize(new Dictionary<string, string> { ["role"] = "user", ["content"] = $"session {session} turn {turn}" }, SoakJson.Default.DictionaryStringString));
            for (var attempt = 1; attempt <= options.Attempts; attempt++)
            {
                var stream = random.Next(2) == 0;
                var disconnect = stream && random.NextDouble() < options.DisconnectShare;
                var (kind, output, detail) = await AttemptAsync(http, url, sessionId, items, stream, disconnect, options.TurnDeadline, ct).ConfigureAwait(false);
                report.Count(kind, detail);
                if (kind == TurnClass.Completed)
                {
                    items.AddRange(output);
                    break;
                }

                if (kind is not (TurnClass.FailedRetryable or TurnClass.Abandoned))
                {
                    // Anything else is not retried as it is; the conversation goes on without this turn's answer.
                    break;
                }
            }

            turnDone();
        }
    }

    private static async Task<(TurnClass Kind, List<string> Output, string? Detail)> AttemptAsync(
        HttpClient http, string url, string sessionId, List<string> items, bool stream, bool disconnect, TimeSpan deadline, CancellationToken ct)
    {
        var body = $$"""{"model":"soak","instructions":"be brief","store":false,"stream":{{(stream ? "true" : "false")}},"input":[{{string.Join(',', items)}}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-soak-tenant");
        request.Headers.Add("X-Session-Id", sessionId);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(deadline);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var error = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                return (Retryable((int)response.StatusCode) ? TurnClass.FailedRetryable : TurnClass.FailedOther, [], $"HTTP {(int)response.StatusCode} {ErrorCode(error)}");
            }

            if (!stream)
            {
                var json = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                using var doc = JsonDocument.Parse(json);
                return Judge(doc.RootElement, items.Count);
            }

            return await ReadStreamAsync(response, items.Count, disconnect, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (TurnClass.Hung, [], $"no terminal within {deadline}");
        }
        catch (HttpRequestException ex)
        {
            return (TurnClass.NoTerminal, [], "transport: " + ex.Message);
        }
    }

    private static async Task<(TurnClass, List<string>, string?)> ReadStreamAsync(HttpResponseMessage response, int expected, bool disconnect, CancellationToken ct)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
        var created = 0;
        var terminals = 0;
        (TurnClass, List<string>, string?)? verdict = null;
        string? eventName = null;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line[7..];
                continue;
            }

            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            switch (eventName)
            {
                case "response.created":
                    if (++created > 1)
                    {
                        return (TurnClass.ReplayedAfterFirstEvent, [], "a second response.created in one turn");
                    }

                    if (disconnect)
                    {
                        return (TurnClass.Abandoned, [], null);
                    }

                    break;
                case "response.completed" or "response.incomplete" or "response.failed":
                    terminals++;
                    using (var doc = JsonDocument.Parse(line[6..]))
                    {
                        verdict ??= Judge(doc.RootElement.GetProperty("response"), expected);
                    }

                    break;
                case "error":
                    terminals++;
                    using (var doc = JsonDocument.Parse(line[6..]))
                    {
                        var code = doc.RootElement.TryGetProperty("code", out var c) ? c.ToString() : "?";
                        verdict ??= (RetryableCode(code) ? TurnClass.FailedRetryable : TurnClass.FailedOther, [], $"SSE error {code}");
                    }

                    break;
            }
        }

        return terminals switch
        {
            0 => (TurnClass.NoTerminal, [], "the stream ended without a terminal"),
            > 1 => (TurnClass.TwoTerminals, [], $"{terminals} terminals"),
            _ => verdict!.Value,
        };
    }

    /// <summary>A Response object: completed with the right <c>ok: N</c>, or how it ended.</summary>
    private static (TurnClass, List<string>, string?) Judge(JsonElement responseObject, int expected)
    {
        var status = responseObject.GetProperty("status").GetString();
        if (status != "completed")
        {
            return (TurnClass.FailedOther, [], $"response {status}");
        }

        var output = new List<string>();
        var text = new StringBuilder();
        foreach (var item in responseObject.GetProperty("output").EnumerateArray())
        {
            output.Add(item.GetRawText());
            if (item.TryGetProperty("content", out var content))
            {
                foreach (var part in content.EnumerateArray())
                {
                    if (part.TryGetProperty("text", out var t))
                    {
                        text.Append(t.GetString());
                    }
                }
            }
        }

        var want = string.Create(CultureInfo.InvariantCulture, $"ok: {expected}");
        return text.ToString().EndsWith(want, StringComparison.Ordinal)
            ? (TurnClass.Completed, output, null)
            : (TurnClass.WrongContext, [], $"answered '{text}' for {want}");
    }

    private static bool Retryable(int status) => status is 408 or 409 or 429 or >= 500;

    private static bool RetryableCode(string code) =>
        code is "rate_limit_exceeded" or "server_error" or "connection_failed" or "upstream_unavailable" or "timeout" or "service_unavailable" or "overloaded";

    private static string ErrorCode(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.GetProperty("error").GetProperty("code").ToString();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "(no error body)";
        }
    }

    /// <summary>
    /// Every <see cref="SoakOptions.FaultEvery"/>, one fault of a random kind for the next request or socket it applies
    /// to — on a tick when the upstream saw traffic since the last fault. Faults wait in the simulator for a request
    /// they apply to, so injecting on a clock alone would pile them up once few conversations are left, and the last
    /// turns would meet nothing but queued faults (a tail of a minute or more on a run that is otherwise done).
    /// </summary>
    private static async Task InjectFaultsAsync(ResponsesSimulator sim, SoakOptions options, SoakReport report, CancellationToken ct)
    {
        var random = new Random(options.Seed);
        using var timer = new PeriodicTimer(options.FaultEvery);
        long Traffic() => sim.Counters.ConnectionsOpened + sim.Counters.UpgradesRefused + sim.Counters.ResponseCreateFrames + sim.Counters.HttpPosts;
        var seen = Traffic();
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var now = Traffic();
                if (now == seen)
                {
                    continue;
                }

                seen = now;
                var f = sim.Faults;
                switch (random.Next(12))
                {
                    case 0: f.CloseAfterEvents(random.Next(0, 6)); break;
                    case 1: f.SendError(400, "previous_response_not_found", "Previous response not found."); break;
                    case 2: f.SendError(429, "rate_limit_exceeded", "Rate limit reached."); break;
                    case 3: f.SendError(500, "server_error", "The server had an error."); break;
                    case 4: f.FailResponses("server_error"); break;
                    case 5: f.SendMalformedFrame(); break;
                    case 6: f.Stall(TimeSpan.FromSeconds(2)); break;
                    case 7: f.RefuseUpgrades(new HttpFault(500, "server_error", "upgrade failed")); break;
                    case 8: f.RefuseUpgrades(new HttpFault(429, "rate_limit_exceeded", "slow down", RetryAfter: TimeSpan.FromSeconds(1))); break;
                    case 9: f.FailHttpPosts(new HttpFault(503, "server_error", "unavailable", RetryAfter: TimeSpan.FromMilliseconds(100))); break;
                    case 10: f.SendSseError(random.Next(0, 4), "server_error", "stream broke"); break;
                    default: f.PushLimitErrorToIdleSockets(); break;
                }

                report.FaultsInjected++;
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }

    private static async Task ReportProgressAsync(SoakOptions options, SoakReport report, Func<long> done, Stopwatch clock, TextWriter progress, CancellationToken ct)
    {
        var total = (long)options.Sessions * options.Turns;
        using var timer = new PeriodicTimer(options.ProgressEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var rss = Environment.WorkingSet;
                report.PeakWorkingSetBytes = Math.Max(report.PeakWorkingSetBytes, rss);
                await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"[{clock.Elapsed.TotalSeconds,6:F0} s] turns done {done()}/{total}, attempts {report.Attempts} ({report}), faults {report.FaultsInjected}, RSS {rss / 1048576} MB, GC heap {GC.GetTotalMemory(false) / 1048576} MB")).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class SoakJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Deletes a soak run's temp directory (its SQLite file) after the run.</summary>
internal sealed class ScratchDirectory(DirectoryInfo? directory) : IDisposable
{
    public void Dispose()
    {
        if (directory is { Exists: true })
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }
}
