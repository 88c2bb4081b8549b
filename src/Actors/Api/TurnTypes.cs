using System.Text.RegularExpressions;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Api;

/// <summary>
/// Names one conversation inside one tenant. Both parts are 1–128 characters of <c>[A-Za-z0-9_.:-]</c>;
/// the session id is <c>{tenant}~{conversation}</c>, so tenants can never collide.
/// </summary>
public readonly partial record struct SessionKey
{
    public SessionKey(string tenant, string conversation)
    {
        Tenant = Validate(tenant, nameof(tenant));
        Conversation = Validate(conversation, nameof(conversation));
    }

    public string Tenant { get; }

    public string Conversation { get; }

    /// <summary>The session's id and actor name.</summary>
    public string SessionId => Tenant + "~" + Conversation;

    public override string ToString() => SessionId;

    /// <summary>Whether <paramref name="value"/> is a valid tenant or conversation name.</summary>
    public static bool IsValidPart(string? value) => value is { Length: >= 1 and <= 128 } && Allowed().IsMatch(value);

    private static string Validate(string value, string name)
    {
        if (!IsValidPart(value))
        {
            throw new ArgumentException(
                $"a {name} name must be 1–128 characters of letters, digits, '_', '.', ':' or '-'; got {(value is null ? "null" : $"'{(value.Length > 40 ? value[..40] + "…" : value)}' ({value.Length} chars)")}",
                name);
        }

        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9_.:-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();
}

/// <summary>Per-turn choices of the caller.</summary>
public sealed record TurnOptions
{
    public static readonly TurnOptions Default = new();

    /// <summary>
    /// The caller chains itself: the request's input is only the new items after this response. When the id
    /// is one this session produced, a lost server cache is covered by the session's transcript.
    /// </summary>
    public string? PreviousResponseId { get; init; }

    /// <summary>Send <c>generate:false</c>: warm the connection's cache with the input; no model output.</summary>
    public bool GenerateWarmup { get; init; }

    /// <summary>Forget the chain and send the full input.</summary>
    public bool ResetChain { get; init; }
}

/// <summary>How a turn ended. Every accepted turn ends exactly once.</summary>
public enum TurnOutcome
{
    Completed,
    Incomplete,
    Failed,
    Cancelled,
    Rejected,
}

/// <summary>The terminal of a turn.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="Result">The folded turn (events, text, calls, usage); empty for rejected or cancelled-before-start turns.</param>
/// <param name="Error">The upstream or service error of a failed or rejected turn.</param>
/// <param name="Retryable">Whether the same request may succeed if sent again.</param>
/// <param name="Reason">A readable reason for anything but a completion.</param>
/// <param name="Chained">Whether the turn went out as <c>previous_response_id</c> plus only its new items.</param>
/// <param name="Transport"><c>websocket</c>, <c>http</c>, or <c>none</c> when it never went out.</param>
public sealed record TurnEnd(
    TurnOutcome Outcome,
    TurnResult Result,
    UpstreamError? Error,
    bool Retryable,
    string? Reason,
    bool Chained,
    string Transport)
{
    public string? ResponseId => Result.ResponseId;

    /// <summary>Response metadata when the transport exposes it: <c>x-request-id</c>, <c>x-ratelimit-*</c> (HTTP).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    internal static TurnEnd Rejected(string reason, bool retryable) =>
        new(TurnOutcome.Rejected, new TurnResult { Status = TurnStatus.Interrupted }, UpstreamError.FromTransport(reason), retryable, reason, false, "none");

    internal static TurnEnd Failed(string reason, bool retryable, TurnResult? result = null, UpstreamError? error = null) =>
        new(TurnOutcome.Failed, result ?? new TurnResult { Status = TurnStatus.Interrupted }, error ?? UpstreamError.FromTransport(reason), retryable, reason, false, "none");

    internal static TurnEnd Cancelled(string reason, TurnResult? result = null) =>
        new(TurnOutcome.Cancelled, result ?? new TurnResult { Status = TurnStatus.Interrupted }, null, false, reason, false, "none");
}

/// <summary>One item of a running turn: <see cref="TurnStarted"/>, the upstream events, then exactly one <see cref="TurnFinished"/>.</summary>
public abstract record TurnEvent
{
    private protected TurnEvent()
    {
    }
}

/// <summary>
/// The turn went out and its first event arrived: which transport carries it and whether it went out as a
/// delta. Comes once, before the first <see cref="TurnUpstreamEvent"/> (not at all for a turn that never started).
/// </summary>
public sealed record TurnStarted(string Transport, bool Chained) : TurnEvent;

/// <summary>An event of the response as the server sent it.</summary>
public sealed record TurnUpstreamEvent(ServerEvent Event) : TurnEvent;

/// <summary>The last item of every turn.</summary>
public sealed record TurnFinished(TurnEnd End) : TurnEvent;

/// <summary>A session's state for status pages and logs.</summary>
public sealed record SessionStatus(
    string SessionId,
    long ConnectionEpoch,
    string ConnectionState,
    TimeSpan? ConnectionAge,
    bool? LastTurnChained,
    int Turns,
    int Rotations,
    int Replays,
    int Fallbacks,
    int QueueLength,
    bool Busy,
    string Transport,
    string TransportReason,
    int UnreadEvents = 0,
    long UnreadBytes = 0);
