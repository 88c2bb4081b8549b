namespace Fantasy.Actors.Protocol;

/// <summary>
/// Everything a turn produced, folded from its events by <see cref="TurnAccumulator"/>. The same fold
/// serves WebSocket frames and SSE events, so equal streams give equal results.
/// </summary>
public sealed record TurnResult
{
    public string? ResponseId { get; init; }
    public TurnStatus Status { get; init; }

    /// <summary>The last <c>response.status</c> seen (<c>in_progress</c> for an interrupted stream).</summary>
    public string? ResponseStatus { get; init; }

    /// <summary>Null when the turn was interrupted.</summary>
    public FinishReason? FinishReason { get; init; }
    public string? IncompleteReason { get; init; }
    public string? Model { get; init; }

    /// <summary>The output items, from <c>output_item.done</c> (or the terminal response when no item events came), by output index.</summary>
    public IReadOnlyList<OutputItem> Output { get; init; } = [];

    /// <summary>The concatenated output text deltas.</summary>
    public string Text { get; init; } = string.Empty;
    public IReadOnlyList<FunctionCall> FunctionCalls { get; init; } = [];
    public IReadOnlyList<Citation> Sources { get; init; } = [];

    /// <summary>One entry per reasoning summary part, in order.</summary>
    public IReadOnlyList<string> ReasoningSummary { get; init; } = [];

    /// <summary>Raw reasoning text (<c>reasoning_text</c> events), where a model streams it.</summary>
    public string ReasoningText { get; init; } = string.Empty;
    public string? Refusal { get; init; }
    public Usage? Usage { get; init; }
    public UpstreamError? Error { get; init; }

    /// <summary>Events folded (events after the terminal are not counted).</summary>
    public int EventCount { get; init; }

    public bool IsSuccess => Status == TurnStatus.Completed;

    public bool Equals(TurnResult? other) =>
        other is not null
        && ResponseId == other.ResponseId
        && Status == other.Status
        && ResponseStatus == other.ResponseStatus
        && FinishReason == other.FinishReason
        && IncompleteReason == other.IncompleteReason
        && Model == other.Model
        && Output.SequenceEqual(other.Output)
        && Text == other.Text
        && FunctionCalls.SequenceEqual(other.FunctionCalls)
        && Sources.SequenceEqual(other.Sources)
        && ReasoningSummary.SequenceEqual(other.ReasoningSummary)
        && ReasoningText == other.ReasoningText
        && Refusal == other.Refusal
        && Equals(Usage, other.Usage)
        && Equals(Error, other.Error)
        && EventCount == other.EventCount;

    public override int GetHashCode() => HashCode.Combine(ResponseId, Status, Text, FunctionCalls.Count, Output.Count);
}
