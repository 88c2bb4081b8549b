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
}
