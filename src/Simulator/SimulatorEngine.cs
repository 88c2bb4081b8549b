using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Simulator;

/// <summary>A response the server remembers: the full context that produced it, its output, and the final Response object (retrieve).</summary>
internal sealed record StoredResponse(string Id, IReadOnlyList<JsonElement> Context, IReadOnlyList<JsonElement> Output, byte[]? Response = null);

/// <summary>An error the server answers with, in either wire shape.</summary>
internal sealed record SimError(int Status, string? Type, string? Code, string Message, string? Param = null, IReadOnlyList<KeyValuePair<string, string>>? Headers = null)
{
    /// <summary>The organization's budget refused the request: 429 with when it would fit, as the service says it.</summary>
    public static SimError RateLimited(string limit, int perMinute, TimeSpan wait, IReadOnlyList<KeyValuePair<string, string>> budget)
    {
        var headers = new List<KeyValuePair<string, string>>(budget)
        {
            new("retry-after-ms", ((long)Math.Ceiling(wait.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("retry-after", ((long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        return new SimError(429, limit, "rate_limit_exceeded",
            $"Rate limit reached for the organization on {limit} per min (RPM/TPM): Limit {perMinute}. Please try again in {OrganizationBudget.FormatWait(wait)}.", null, headers);
    }

    /// <summary>The API's answer for an id it does not know: 404, no code.</summary>
    public static SimError NotFound(string message) => new(404, "invalid_request_error", null, message);

    public static SimError Invalid(string message, string? param = null, string code = "invalid_request_error") =>
        new(400, "invalid_request_error", code, message, param);

    public static SimError PreviousNotFound(string id) =>
        new(400, "invalid_request_error", UpstreamError.PreviousResponseNotFound, $"Previous response with id '{id}' not found.", "previous_response_id");

    public static readonly SimError ConnectionLimit = new(400, "invalid_request_error", UpstreamError.ConnectionLimitReached,
        "Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.");

    /// <summary><c>{"type":"error","status":…,"error":{…}}</c>.</summary>
    public byte[] ToWebSocketFrame() => WireWriter.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "error"u8);
        w.WriteNumber("status"u8, Status);
        w.WritePropertyName("error"u8);
        WriteInner(w);
        if (Headers is { Count: > 0 })
        {
            w.WriteStartObject("headers"u8);
            foreach (var (name, value) in Headers)
            {
                w.WriteString(name, value);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    });

    /// <summary><c>{"error":{"message","type","param","code"}}</c>, pretty-printed like the real service.</summary>
    public byte[] ToHttpBody() =>
    [
        .. WireWriter.Write(
            w =>
            {
                w.WriteStartObject();
                w.WritePropertyName("error"u8);
                WriteInner(w, http: true);
                w.WriteEndObject();
            },
            indented: true),
        (byte)'\n',
    ];

    private void WriteInner(Utf8JsonWriter w, bool http = false)
    {
        w.WriteStartObject();
        if (http)
        {
            // The HTTP body's key order: message, type, param, code.
            w.WriteString("message"u8, Message);
            w.WriteString("type"u8, Type ?? "invalid_request_error");
            WriteParam(w);
            w.WriteString("code"u8, Code);
        }
        else
        {
            if (Type is not null) w.WriteString("type"u8, Type);
            w.WriteString("code"u8, Code);
            w.WriteString("message"u8, Message);
            WriteParam(w);
        }

        w.WriteEndObject();
    }

    private void WriteParam(Utf8JsonWriter w)
    {
        if (Param is not null) w.WriteString("param"u8, Param);
        else w.WriteNull("param"u8);
    }
}

/// <summary>A request resolved against what the server remembers.</summary>
internal sealed record Resolution(
    IReadOnlyList<JsonElement> Context,
    IReadOnlyList<JsonElement> NewInput,
    int CachedItems,
    string? PreviousResponseId);

/// <summary>
/// What both transports share: request validation, <c>previous_response_id</c> resolution against the
/// connection's cache and the persisted store, response ids, and the run of the scripted model.
/// </summary>
internal sealed class SimulatorEngine(SimulatorOptions options, SimulatorFaults faults, SimulatorCounters counters)
{
    private readonly ConcurrentDictionary<string, StoredResponse> persisted = new(StringComparer.Ordinal);
    private long nextResponse;

    public SimulatorOptions Options { get; } = options;

    /// <summary>A stored (<c>store:true</c>) response, for retrieve and its input items.</summary>
    public StoredResponse? Stored(string id) => persisted.TryGetValue(id, out var stored) ? stored : null;

    /// <summary>Deletes a stored response; false when there is none.</summary>
    public bool Delete(string id) => persisted.TryRemove(id, out _);

    /// <summary>The conversations created through <c>/v1/conversations</c>.</summary>
    public SimulatorConversations Conversations { get; } = new();
    public SimulatorFaults Faults { get; } = faults;
    public SimulatorCounters Counters { get; } = counters;

    /// <summary>The organization's budget (<see cref="SimulatorOptions.RequestsPerMinute"/>, <see cref="SimulatorOptions.TokensPerMinute"/>).</summary>
    public OrganizationBudget Budget { get; } = new(options.RequestsPerMinute, options.TokensPerMinute, options.Time);

    /// <summary>Null when the budget admits a request of <paramref name="bodyBytes"/> bytes (and charges it); else the 429 to answer.</summary>
    public SimError? Admit(int bodyBytes)
    {
        if (!Budget.Enabled)
        {
            return null;
        }

        var (admitted, limit, wait) = Budget.TryAdmit(OrganizationBudget.EstimateTokens(bodyBytes));
        if (admitted)
        {
            Counters.BudgetAdmitted();
            return null;
        }

        Counters.RateLimited();
        return SimError.RateLimited(limit!, limit == "requests" ? Options.RequestsPerMinute : Options.TokensPerMinute, wait, Budget.Headers());
    }

    /// <summary>
    /// This simulator's part of every id: ids stay unique across its restarts, as the API's are (a gateway that keeps
    /// conversations across a restart would otherwise meet a new response under an id it already holds).
    /// </summary>
    private readonly string instance = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

    public string NewResponseId() =>
        "resp_sim" + instance + Interlocked.Increment(ref nextResponse).ToString("x8", CultureInfo.InvariantCulture);

    public static SimError? Validate(ResponseRequest request, bool webSocket)
    {
        if (string.IsNullOrEmpty(request.Model))
        {
            return SimError.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter");
        }

        if (webSocket && request.Background == true)
        {
            return SimError.Invalid("background responses are not supported in WebSocket mode.", "background", "unsupported_parameter");
        }

        return null;
    }

    /// <summary>
    /// Context = previous context + previous output + new input for a continuation; the input alone
    /// for a fresh request. A <c>previous_response_id</c> resolves against the connection's latest
    /// response, and — only when the request has <c>store</c> on — against the persisted store.
    /// </summary>
    public async Task<(Resolution? Resolution, SimError? Error)> ResolveAsync(
        ResponseRequest request, StoredResponse? connectionCache, CancellationToken ct)
    {
        var previousId = request.PreviousResponseId;
        if (previousId is null)
        {
            return (new Resolution(request.Input, request.Input, 0, null), null);
        }

        StoredResponse? previous = null;
        var cached = false;
        if (connectionCache is not null && connectionCache.Id == previousId)
        {
            previous = connectionCache;
            cached = true;
        }
        else if (request.EffectiveStore && persisted.TryGetValue(previousId, out var stored))
        {
            previous = stored;
            if (Options.StoreLoadDelay > TimeSpan.Zero)
            {
                await Task.Delay(Options.StoreLoadDelay, ct).ConfigureAwait(false);
            }
        }

        if (previous is null)
        {
            return (null, SimError.PreviousNotFound(previousId));
        }

        var context = new List<JsonElement>(previous.Context.Count + previous.Output.Count + request.Input.Count);
        context.AddRange(previous.Context);
        context.AddRange(previous.Output);
        context.AddRange(request.Input);
        var reused = cached ? previous.Context.Count + previous.Output.Count : 0;
        return (new Resolution(context, request.Input, reused, previousId), null);
    }

    public ResponseRun Start(ResponseRequest request, Resolution resolution)
    {
        if (resolution.PreviousResponseId is null) Counters.Fresh();
        else Counters.Chained();
        if (request.IsWarmup) Counters.Warmup();

        var turn = request.IsWarmup
            ? new ModelTurn([], ModelOutcome.Completed, null)
            : ScriptedModel.Decide(resolution.NewInput, resolution.Context.Count, request.MaxOutputTokens);
        return new ResponseRun(
            NewResponseId(),
            DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            request,
            resolution.PreviousResponseId,
            turn,
            resolution.Context.Count,
            resolution.CachedItems,
            request.IsWarmup);
    }

    /// <summary>Remembers a finished response (completed or incomplete); persisted only when <c>store</c> is on.</summary>
    public StoredResponse Remember(ResponseRequest request, Resolution resolution, ResponseRun run, string responseId)
    {
        var stored = new StoredResponse(responseId, resolution.Context, run.Output.ToArray(), request.EffectiveStore ? run.FinalResponse() : null);
        if (request.EffectiveStore)
        {
            persisted[responseId] = stored;
        }

        Counters.Completed();
        return stored;
    }
}
