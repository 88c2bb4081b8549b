namespace Fantasy.Actors.Contract;

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

    /// <summary>
    /// The caller passes the upstream's events on unchanged (as the gateway does): events other than errors and
    /// Response events reach it as <see cref="Protocol.ReceivedEvent"/> — their received bytes only — and the turn's
    /// <see cref="Protocol.TurnResult.Text"/>, refusal and reasoning come from the <c>.done</c> events and output
    /// items rather than from folding deltas. A turn whose caller stops reading then holds each unread event once,
    /// and no growing copy of its answer. Needs <c>fantasy.connection.keep-raw-events = on</c>.
    /// </summary>
    public bool PassThrough { get; init; }

    /// <summary>
    /// The request's input is only what is new since the session's last completed response, whichever it was: the
    /// session chains from its own transcript (in any process and on any node, when the session is durable). A session
    /// with no completed turn takes the input as the whole conversation. This is the stateful pattern of
    /// <c>IChatClient</c> (a <c>ConversationId</c>, only new messages); <see cref="PreviousResponseId"/> wins when set.
    /// </summary>
    public bool ContinueSession { get; init; }

    /// <summary>
    /// With <c>fantasy.persistence</c> on: whether the turn is recorded in the session's journal (default). False for a
    /// conversation that will not be continued (the gateway's one-off sessions): nothing of it is written but its
    /// response id's owner, so a caller may still chain from the id (on an upstream that stores responses).
    /// </summary>
    public bool Durable { get; init; } = true;
}
