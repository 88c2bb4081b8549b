using System.Text;

namespace Fantasy.Actors.Protocol;

/// <summary>The <c>type</c> strings of the server events the client acts on.</summary>
public static class EventTypes
{
    public const string Created = "response.created";
    public const string InProgress = "response.in_progress";
    public const string Queued = "response.queued";
    public const string OutputItemAdded = "response.output_item.added";
    public const string OutputItemDone = "response.output_item.done";
    public const string ContentPartAdded = "response.content_part.added";
    public const string ContentPartDone = "response.content_part.done";
    public const string OutputTextDelta = "response.output_text.delta";
    public const string OutputTextDone = "response.output_text.done";
    public const string OutputTextAnnotationAdded = "response.output_text.annotation.added";
    public const string RefusalDelta = "response.refusal.delta";
    public const string RefusalDone = "response.refusal.done";
    public const string FunctionCallArgumentsDelta = "response.function_call_arguments.delta";
    public const string FunctionCallArgumentsDone = "response.function_call_arguments.done";
    public const string ReasoningSummaryPartAdded = "response.reasoning_summary_part.added";
    public const string ReasoningSummaryPartDone = "response.reasoning_summary_part.done";
    public const string ReasoningSummaryTextDelta = "response.reasoning_summary_text.delta";
    public const string ReasoningSummaryTextDone = "response.reasoning_summary_text.done";
    public const string ReasoningTextDelta = "response.reasoning_text.delta";
    public const string ReasoningTextDone = "response.reasoning_text.done";
    public const string Completed = "response.completed";
    public const string Incomplete = "response.incomplete";
    public const string Failed = "response.failed";
    public const string Error = "error";
    public const string Done = "response.done";
}

/// <summary>
/// One server event: the payload of one WebSocket text frame or one SSE <c>data:</c> line.
/// Produced by <see cref="EventParser.Parse(System.ReadOnlySpan{byte})"/>.
/// </summary>
public abstract record ServerEvent
{
    /// <summary>The event's <c>type</c> string.</summary>
    public abstract string Type { get; }

    private long? sequenceNumber;
    private string? streamId;

    /// <summary><c>sequence_number</c>, counting from 0 per response; absent on some frames (WS errors, vendor extras).</summary>
    public long? SequenceNumber { get => sequenceNumber; init => sequenceNumber = value; }

    /// <summary>The lane (<c>stream_id</c>) a multiplexing server echoes; null on the default lane.</summary>
    public string? StreamId { get => streamId; init => streamId = value; }

    /// <summary>
    /// The event's JSON exactly as received, when the parser was asked to keep it (empty otherwise). Not part of
    /// equality: two events are equal when their fields are.
    /// </summary>
    public ReadOnlyMemory<byte> ReceivedJson { get; internal set; }

    /// <summary>The size of the event's JSON as received (0 for an event not made by the parser); not part of equality.</summary>
    public int ReceivedBytes { get; internal set; }

    /// <summary>Equality of the envelope; derived records add their own fields (<see cref="ReceivedJson"/> is left out).</summary>
    public virtual bool Equals(ServerEvent? other) =>
        ReferenceEquals(this, other)
        || (other is not null && EqualityContract == other.EqualityContract && sequenceNumber == other.sequenceNumber && streamId == other.streamId);

    public override int GetHashCode() => HashCode.Combine(EqualityContract, sequenceNumber, streamId);

    /// <summary>True for the events that end a turn (see <see cref="TurnAccumulator"/> for the one contextual case, <c>error</c>).</summary>
    public virtual bool IsResponseTerminal => false;

    /// <summary>
    /// The event as its received bytes only (<see cref="ReceivedEvent"/>), for holding it until it is passed on:
    /// the parsed fields of a delta or a <c>.done</c> event hold its text a second time (UTF-16, twice the bytes).
    /// Errors, Response events and events without received bytes are returned as they are.
    /// </summary>
    public ServerEvent AsReceived() =>
        this is ErrorEvent or ResponseEvent or UnknownEvent or ReceivedEvent || ReceivedJson.IsEmpty
            ? this
            : new ReceivedEvent(Type) { ReceivedJson = ReceivedJson, ReceivedBytes = ReceivedBytes, sequenceNumber = sequenceNumber, streamId = streamId };

    /// <summary>Sets the envelope fields on a freshly parsed event without copying it.</summary>
    internal ServerEvent WithEnvelope(long? sequence, string? lane)
    {
        sequenceNumber = sequence;
        streamId = lane;
        return this;
    }
}

/// <summary>Events that carry a full Response object.</summary>
public abstract record ResponseEvent(ResponseSnapshot Response) : ServerEvent;

public sealed record ResponseCreated(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Created;
}

public sealed record ResponseInProgress(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.InProgress;
}

public sealed record ResponseQueued(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Queued;
}

public sealed record ResponseCompleted(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Completed;
    public override bool IsResponseTerminal => true;
}

public sealed record ResponseIncomplete(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Incomplete;
    public override bool IsResponseTerminal => true;
}

public sealed record ResponseFailed(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Failed;
    public override bool IsResponseTerminal => true;
}

/// <summary>The legacy terminal <c>response.done</c>; its meaning comes from <c>response.status</c>.</summary>
public sealed record ResponseDone(ResponseSnapshot Response) : ResponseEvent(Response)
{
    public override string Type => EventTypes.Done;
    public override bool IsResponseTerminal => true;
}

public sealed record OutputItemAdded(int OutputIndex, OutputItem Item) : ServerEvent
{
    public override string Type => EventTypes.OutputItemAdded;
}

public sealed record OutputItemDone(int OutputIndex, OutputItem Item) : ServerEvent
{
    public override string Type => EventTypes.OutputItemDone;
}

/// <summary>A content part (<c>output_text</c>, <c>refusal</c>, …) kept as sent.</summary>
public sealed record ContentPartAdded(string? ItemId, int OutputIndex, int ContentIndex, System.Text.Json.JsonElement Part) : ServerEvent
{
    public override string Type => EventTypes.ContentPartAdded;
}

public sealed record ContentPartDone(string? ItemId, int OutputIndex, int ContentIndex, System.Text.Json.JsonElement Part) : ServerEvent
{
    public override string Type => EventTypes.ContentPartDone;
}

public sealed record OutputTextDelta(string? ItemId, int OutputIndex, int ContentIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.OutputTextDelta;
}

public sealed record OutputTextDone(string? ItemId, int OutputIndex, int ContentIndex, string Text) : ServerEvent
{
    public override string Type => EventTypes.OutputTextDone;
}

/// <summary>A citation attached to output text; <see cref="Citation"/> is the typed view of the annotation.</summary>
public sealed record OutputTextAnnotationAdded(string? ItemId, int OutputIndex, int ContentIndex, int AnnotationIndex, Citation Annotation) : ServerEvent
{
    public override string Type => EventTypes.OutputTextAnnotationAdded;
}

public sealed record RefusalDelta(string? ItemId, int OutputIndex, int ContentIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.RefusalDelta;
}

public sealed record RefusalDone(string? ItemId, int OutputIndex, int ContentIndex, string Refusal) : ServerEvent
{
    public override string Type => EventTypes.RefusalDone;
}

public sealed record FunctionCallArgumentsDelta(string? ItemId, int OutputIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.FunctionCallArgumentsDelta;
}

/// <summary>Arguments complete. <see cref="Name"/> is present in the OpenAPI shape and absent in some captures.</summary>
public sealed record FunctionCallArgumentsDone(string? ItemId, int OutputIndex, string Arguments, string? Name) : ServerEvent
{
    public override string Type => EventTypes.FunctionCallArgumentsDone;
}

public sealed record ReasoningSummaryPartAdded(string? ItemId, int OutputIndex, int SummaryIndex) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryPartAdded;
}

public sealed record ReasoningSummaryPartDone(string? ItemId, int OutputIndex, int SummaryIndex, string? Text) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryPartDone;
}

public sealed record ReasoningSummaryTextDelta(string? ItemId, int OutputIndex, int SummaryIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryTextDelta;
}

public sealed record ReasoningSummaryTextDone(string? ItemId, int OutputIndex, int SummaryIndex, string Text) : ServerEvent
{
    public override string Type => EventTypes.ReasoningSummaryTextDone;
}

public sealed record ReasoningTextDelta(string? ItemId, int OutputIndex, int ContentIndex, string Delta) : ServerEvent
{
    public override string Type => EventTypes.ReasoningTextDelta;
}

public sealed record ReasoningTextDone(string? ItemId, int OutputIndex, int ContentIndex, string Text) : ServerEvent
{
    public override string Type => EventTypes.ReasoningTextDone;
}

/// <summary>
/// An <c>error</c> event in either wire shape (WebSocket nested or SSE flat). Before a response was
/// created it is request-scoped and ends the turn; see <see cref="TurnAccumulator"/>.
/// </summary>
public sealed record ErrorEvent(UpstreamError Error) : ServerEvent
{
    public override string Type => EventTypes.Error;
}

/// <summary>
/// Any event this library does not model (hosted-tool progress, vendor extras such as
/// <c>codex.rate_limits</c>). Kept verbatim; clients ignore it.
/// </summary>
public sealed record UnknownEvent(string EventType, ReadOnlyMemory<byte> RawJson) : ServerEvent
{
    public override string Type => EventType;

    public string RawText => Encoding.UTF8.GetString(RawJson.Span);
}

/// <summary>
/// An event kept only as the bytes it was received as (<see cref="ServerEvent.ReceivedJson"/>), made by
/// <see cref="ServerEvent.AsReceived"/> for a caller that passes events on unchanged. Its fields were read where
/// the turn was folded; parse <see cref="ServerEvent.ReceivedJson"/> again to read them.
/// </summary>
public sealed record ReceivedEvent(string EventType) : ServerEvent
{
    public override string Type => EventType;
}
