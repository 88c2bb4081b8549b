using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// Parses one server event — a WebSocket text frame or an SSE <c>data:</c> payload — into a
/// <see cref="ServerEvent"/>. Two passes over the bytes with <see cref="Utf8JsonReader"/>: the first
/// finds <c>type</c> wherever it sits (it is usually the first key, so this is short), the second reads
/// only the fields that event needs. A delta allocates its event and its delta string; consecutive
/// deltas of one item share their <c>item_id</c> string.
/// </summary>
public static class EventParser
{
    [ThreadStatic]
    private static string? lastItemId;

    private enum Kind
    {
        Unknown,
        OutputTextDelta,
        FunctionCallArgumentsDelta,
        ReasoningSummaryTextDelta,
        ReasoningTextDelta,
        RefusalDelta,
        Created,
        InProgress,
        Queued,
        OutputItemAdded,
        OutputItemDone,
        ContentPartAdded,
        ContentPartDone,
        OutputTextDone,
        OutputTextAnnotationAdded,
        RefusalDone,
        FunctionCallArgumentsDone,
        ReasoningSummaryPartAdded,
        ReasoningSummaryPartDone,
        ReasoningSummaryTextDone,
        ReasoningTextDone,
        Completed,
        Incomplete,
        Failed,
        Error,
        Done,
    }

    /// <summary>
    /// Parses one event. Throws <see cref="ProtocolException"/> — and nothing else — for input that is
    /// not a JSON object with a string <c>type</c>, that is truncated, or whose known fields have the
    /// wrong JSON type. Unknown event types are returned as <see cref="UnknownEvent"/>.
    /// </summary>
    /// <summary>
    /// As <see cref="Parse(ReadOnlySpan{byte})"/>; with <paramref name="keepRaw"/> the event also keeps a copy of
    /// its bytes as <see cref="ServerEvent.ReceivedJson"/>, for passing it on unchanged (one more allocation per event).
    /// </summary>
    public static ServerEvent Parse(ReadOnlySpan<byte> utf8, bool keepRaw) => Parse(utf8, keepRaw, textAsReceived: false);

    /// <summary>
    /// As <see cref="Parse(ReadOnlySpan{byte}, bool)"/>; with <paramref name="keepRaw"/> and <paramref name="textAsReceived"/>,
    /// the events that carry text — deltas, <c>.done</c> texts, content parts — are checked as fully as ever but
    /// returned as a <see cref="ReceivedEvent"/> (their received bytes only), without decoding the text a second
    /// time. For a caller that passes them on unchanged and takes a turn's texts from its output items.
    /// </summary>
    public static ServerEvent Parse(ReadOnlySpan<byte> utf8, bool keepRaw, bool textAsReceived)
    {
        if (!keepRaw)
        {
            return Parse(utf8);
        }

        // The kept copy is parsed in place, so a response object (which echoes the request's instructions and
        // can be many MiB) is held once, in the kept bytes, not also as a second copy in its snapshot.
        var raw = utf8.ToArray();
        var e = Parse(raw, raw, textAsReceived);
        e.ReceivedJson = raw;
        return e;
    }

    public static ServerEvent Parse(ReadOnlySpan<byte> utf8) => Parse(utf8, backing: null, textAsReceived: false);

    /// <param name="utf8">The event's JSON.</param>
    /// <param name="backing">The array <paramref name="utf8"/> is, when the event may keep slices of it.</param>
    /// <param name="textAsReceived">Text-carrying events as <see cref="ReceivedEvent"/>.</param>
    private static ServerEvent Parse(ReadOnlySpan<byte> utf8, byte[]? backing, bool textAsReceived)
    {
        try
        {
            var kind = FindKind(utf8, out var unknownType);
            var e = kind == Kind.Error ? ParseError(utf8) : ParseBody(kind, unknownType, utf8, backing, textAsReceived);
            e.ReceivedBytes = utf8.Length;
            return e;
        }
        catch (Exception ex) when (ProtocolException.IsParseFailure(ex))
        {
            throw ProtocolException.From(ex, utf8);
        }
    }

    private static Kind FindKind(ReadOnlySpan<byte> utf8, out string? unknownType)
    {
        unknownType = null;
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new ProtocolException("an event must be a JSON object", utf8);
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isType = reader.ValueTextEquals("type"u8);
            reader.Read();
            if (!isType)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType != JsonTokenType.String)
            {
                throw new ProtocolException("'type' must be a string", utf8);
            }

            if (reader.ValueIsEscaped)
            {
                unknownType = reader.GetString()!;
                return Classify(System.Text.Encoding.UTF8.GetBytes(unknownType), ref unknownType);
            }

            return Classify(reader.ValueSpan, ref unknownType);
        }

        throw new ProtocolException("the event has no 'type'", utf8);
    }

    private static Kind Classify(ReadOnlySpan<byte> type, ref string? unknownType)
    {
        // The hot events first: a turn is mostly deltas.
        if (type.SequenceEqual("response.output_text.delta"u8)) return Kind.OutputTextDelta;
        if (type.SequenceEqual("response.function_call_arguments.delta"u8)) return Kind.FunctionCallArgumentsDelta;
        if (type.SequenceEqual("response.reasoning_summary_text.delta"u8)) return Kind.ReasoningSummaryTextDelta;
        if (type.SequenceEqual("response.reasoning_text.delta"u8)) return Kind.ReasoningTextDelta;
        if (type.SequenceEqual("response.refusal.delta"u8)) return Kind.RefusalDelta;
        if (type.SequenceEqual("response.created"u8)) return Kind.Created;
        if (type.SequenceEqual("response.in_progress"u8)) return Kind.InProgress;
        if (type.SequenceEqual("response.queued"u8)) return Kind.Queued;
        if (type.SequenceEqual("response.output_item.added"u8)) return Kind.OutputItemAdded;
        if (type.SequenceEqual("response.output_item.done"u8)) return Kind.OutputItemDone;
        if (type.SequenceEqual("response.content_part.added"u8)) return Kind.ContentPartAdded;
        if (type.SequenceEqual("response.content_part.done"u8)) return Kind.ContentPartDone;
        if (type.SequenceEqual("response.output_text.done"u8)) return Kind.OutputTextDone;
        if (type.SequenceEqual("response.output_text.annotation.added"u8)) return Kind.OutputTextAnnotationAdded;
        if (type.SequenceEqual("response.refusal.done"u8)) return Kind.RefusalDone;
        if (type.SequenceEqual("response.function_call_arguments.done"u8)) return Kind.FunctionCallArgumentsDone;
        if (type.SequenceEqual("response.reasoning_summary_part.added"u8)) return Kind.ReasoningSummaryPartAdded;
        if (type.SequenceEqual("response.reasoning_summary_part.done"u8)) return Kind.ReasoningSummaryPartDone;
        if (type.SequenceEqual("response.reasoning_summary_text.done"u8)) return Kind.ReasoningSummaryTextDone;
        if (type.SequenceEqual("response.reasoning_text.done"u8)) return Kind.ReasoningTextDone;
        if (type.SequenceEqual("response.completed"u8)) return Kind.Completed;
        if (type.SequenceEqual("response.incomplete"u8)) return Kind.Incomplete;
        if (type.SequenceEqual("response.failed"u8)) return Kind.Failed;
        if (type.SequenceEqual("error"u8)) return Kind.Error;
        if (type.SequenceEqual("response.done"u8)) return Kind.Done;
        unknownType ??= System.Text.Encoding.UTF8.GetString(type);
        return Kind.Unknown;
    }

    private static ErrorEvent ParseError(ReadOnlySpan<byte> utf8)
    {
        var error = UpstreamError.FromErrorEvent(utf8);
        return new ErrorEvent(error) { SequenceNumber = error.SequenceNumber, StreamId = error.StreamId };
    }

    private static ServerEvent ParseBody(Kind kind, string? unknownType, ReadOnlySpan<byte> utf8, byte[]? backing, bool textAsReceived)
    {
        var textField = kind switch
        {
            Kind.OutputTextDelta or Kind.FunctionCallArgumentsDelta or Kind.ReasoningSummaryTextDelta
                or Kind.ReasoningTextDelta or Kind.RefusalDelta => "delta"u8,
            Kind.OutputTextDone or Kind.ReasoningSummaryTextDone or Kind.ReasoningTextDone => "text"u8,
            Kind.FunctionCallArgumentsDone => "arguments"u8,
            Kind.RefusalDone => "refusal"u8,
            _ => default,
        };
        var received = textAsReceived && (!textField.IsEmpty || kind is Kind.ContentPartAdded or Kind.ContentPartDone);
        var sawReceivedField = false;
        var wantsResponse = kind is Kind.Created or Kind.InProgress or Kind.Queued or Kind.Completed
            or Kind.Incomplete or Kind.Failed or Kind.Done;
        var wantsItem = kind is Kind.OutputItemAdded or Kind.OutputItemDone;
        var wantsPart = kind is Kind.ContentPartAdded or Kind.ContentPartDone or Kind.ReasoningSummaryPartDone;
        var wantsName = kind is Kind.FunctionCallArgumentsDone;
        var wantsAnnotation = kind is Kind.OutputTextAnnotationAdded;

        long? seq = null;
        string? streamId = null;
        string? itemId = null;
        string? text = null;
        string? name = null;
        int outputIndex = 0, contentIndex = 0, summaryIndex = 0, annotationIndex = 0;
        ResponseSnapshot? response = null;
        JsonElement? element = null;

        var reader = new Utf8JsonReader(utf8);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!textField.IsEmpty && reader.ValueTextEquals(textField))
            {
                reader.Read();
                if (received)
                {
                    // Checked, not decoded: the bytes are what is passed on.
                    sawReceivedField = reader.TokenType == JsonTokenType.String
                        ? true
                        : throw new ProtocolException($"'{System.Text.Encoding.UTF8.GetString(textField)}' must be a string", utf8);
                }
                else
                {
                    text = reader.GetString();
                }
            }
            else if (received && wantsPart && reader.ValueTextEquals("part"u8))
            {
                // As a full parse takes it: any JSON value, kept as sent.
                reader.Read();
                sawReceivedField = true;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("item_id"u8))
            {
                reader.Read();
                itemId = ReadItemId(ref reader);
            }
            else if (reader.ValueTextEquals("output_index"u8))
            {
                reader.Read();
                outputIndex = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("content_index"u8))
            {
                reader.Read();
                contentIndex = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("summary_index"u8))
            {
                reader.Read();
                summaryIndex = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("annotation_index"u8))
            {
                reader.Read();
                annotationIndex = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("sequence_number"u8))
            {
                reader.Read();
                seq = reader.TokenType == JsonTokenType.Null ? null : reader.GetInt64();
            }
            else if (reader.ValueTextEquals("stream_id"u8))
            {
                reader.Read();
                streamId = reader.GetString();
            }
            else if (wantsResponse && reader.ValueTextEquals("response"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new ProtocolException("'response' must be an object", utf8);
                }

                response = backing is null ? ResponseSnapshot.Read(ref reader) : ResponseSnapshot.Read(ref reader, backing);
            }
            else if ((wantsItem && reader.ValueTextEquals("item"u8))
                     || (wantsPart && reader.ValueTextEquals("part"u8))
                     || (wantsAnnotation && reader.ValueTextEquals("annotation"u8)))
            {
                reader.Read();
                element = JsonElement.ParseValue(ref reader);
            }
            else if (wantsName && reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.GetString();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new ProtocolException("the event is not one complete JSON object", utf8);
        }

        if (received)
        {
            return sawReceivedField
                ? new ReceivedEvent(TypeName(kind)).WithEnvelope(seq, streamId)
                : throw new ProtocolException($"the event has no '{(textField.IsEmpty ? "part" : System.Text.Encoding.UTF8.GetString(textField))}'", utf8);
        }

        ServerEvent ev = kind switch
        {
            Kind.OutputTextDelta => new OutputTextDelta(itemId, outputIndex, contentIndex, Require(text, "delta", utf8)),
            Kind.FunctionCallArgumentsDelta => new FunctionCallArgumentsDelta(itemId, outputIndex, Require(text, "delta", utf8)),
            Kind.ReasoningSummaryTextDelta => new ReasoningSummaryTextDelta(itemId, outputIndex, summaryIndex, Require(text, "delta", utf8)),
            Kind.ReasoningTextDelta => new ReasoningTextDelta(itemId, outputIndex, contentIndex, Require(text, "delta", utf8)),
            Kind.RefusalDelta => new RefusalDelta(itemId, outputIndex, contentIndex, Require(text, "delta", utf8)),
            Kind.Created => new ResponseCreated(Require(response, "response", utf8)),
            Kind.InProgress => new ResponseInProgress(Require(response, "response", utf8)),
            Kind.Queued => new ResponseQueued(Require(response, "response", utf8)),
            Kind.Completed => new ResponseCompleted(Require(response, "response", utf8)),
            Kind.Incomplete => new ResponseIncomplete(Require(response, "response", utf8)),
            Kind.Failed => new ResponseFailed(Require(response, "response", utf8)),
            Kind.Done => new ResponseDone(Require(response, "response", utf8)),
            Kind.OutputItemAdded => new OutputItemAdded(outputIndex, new OutputItem(Require(element, "item", utf8))),
            Kind.OutputItemDone => new OutputItemDone(outputIndex, new OutputItem(Require(element, "item", utf8))),
            Kind.ContentPartAdded => new ContentPartAdded(itemId, outputIndex, contentIndex, Require(element, "part", utf8)),
            Kind.ContentPartDone => new ContentPartDone(itemId, outputIndex, contentIndex, Require(element, "part", utf8)),
            Kind.OutputTextDone => new OutputTextDone(itemId, outputIndex, contentIndex, Require(text, "text", utf8)),
            Kind.OutputTextAnnotationAdded => new OutputTextAnnotationAdded(itemId, outputIndex, contentIndex, annotationIndex,
                Citation.From(Require(element, "annotation", utf8))),
            Kind.RefusalDone => new RefusalDone(itemId, outputIndex, contentIndex, Require(text, "refusal", utf8)),
            Kind.FunctionCallArgumentsDone => new FunctionCallArgumentsDone(itemId, outputIndex, Require(text, "arguments", utf8), name),
            Kind.ReasoningSummaryPartAdded => new ReasoningSummaryPartAdded(itemId, outputIndex, summaryIndex),
            Kind.ReasoningSummaryPartDone => new ReasoningSummaryPartDone(itemId, outputIndex, summaryIndex,
                element is { ValueKind: JsonValueKind.Object } part ? OutputItem.GetString(part, "text") : null),
            Kind.ReasoningSummaryTextDone => new ReasoningSummaryTextDone(itemId, outputIndex, summaryIndex, Require(text, "text", utf8)),
            Kind.ReasoningTextDone => new ReasoningTextDone(itemId, outputIndex, contentIndex, Require(text, "text", utf8)),
            _ => new UnknownEvent(unknownType ?? string.Empty, utf8.ToArray()),
        };

        return ev.WithEnvelope(seq, streamId);
    }

    private static string? ReadItemId(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            throw new InvalidOperationException("'item_id' must be a string");
        }

        var last = lastItemId;
        if (last is not null && reader.ValueTextEquals(last))
        {
            return last;
        }

        return lastItemId = reader.GetString();
    }

    private static string TypeName(Kind kind) => kind switch
    {
        Kind.OutputTextDelta => EventTypes.OutputTextDelta,
        Kind.FunctionCallArgumentsDelta => EventTypes.FunctionCallArgumentsDelta,
        Kind.ReasoningSummaryTextDelta => EventTypes.ReasoningSummaryTextDelta,
        Kind.ReasoningTextDelta => EventTypes.ReasoningTextDelta,
        Kind.RefusalDelta => EventTypes.RefusalDelta,
        Kind.OutputTextDone => EventTypes.OutputTextDone,
        Kind.ReasoningSummaryTextDone => EventTypes.ReasoningSummaryTextDone,
        Kind.ReasoningTextDone => EventTypes.ReasoningTextDone,
        Kind.FunctionCallArgumentsDone => EventTypes.FunctionCallArgumentsDone,
        Kind.RefusalDone => EventTypes.RefusalDone,
        Kind.ContentPartAdded => EventTypes.ContentPartAdded,
        Kind.ContentPartDone => EventTypes.ContentPartDone,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a text-carrying event"),
    };

    private static T Require<T>(T? value, string field, ReadOnlySpan<byte> utf8)
        where T : class =>
        value ?? throw new ProtocolException($"the event has no '{field}'", utf8);

    private static JsonElement Require(JsonElement? value, string field, ReadOnlySpan<byte> utf8) =>
        value ?? throw new ProtocolException($"the event has no '{field}'", utf8);
}
