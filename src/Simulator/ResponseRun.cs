using System.Text.Json;
using Fantasy.Actors.Protocol;

using static Fantasy.Actors.Simulator.WireWriter;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// The events of one response, written as the real service writes them: <c>response.created</c>,
/// <c>response.in_progress</c>, each item's added/delta/done events with proper
/// <c>item_id</c>/<c>output_index</c>/<c>content_index</c>, and one terminal event carrying the full
/// Response with usage. <c>sequence_number</c> counts from 0. Frames are produced lazily, so a fault
/// can stop the stream part-way.
/// </summary>
internal sealed class ResponseRun
{
    private readonly string responseId;
    private readonly string suffix;
    private readonly long createdAt;
    private readonly ResponseRequest request;
    private readonly string? previousResponseId;
    private readonly ModelTurn turn;
    private readonly int contextItems;
    private readonly int cachedItems;
    private readonly bool warmup;
    private readonly List<JsonElement> output = [];
    private long sequence;

    public ResponseRun(
        string responseId,
        long createdAt,
        ResponseRequest request,
        string? previousResponseId,
        ModelTurn turn,
        int contextItems,
        int cachedItems,
        bool warmup)
    {
        this.responseId = responseId;
        suffix = responseId.StartsWith("resp_", StringComparison.Ordinal) ? responseId[5..] : responseId;
        this.createdAt = createdAt;
        this.request = request;
        this.previousResponseId = previousResponseId;
        this.turn = turn;
        this.contextItems = contextItems;
        this.cachedItems = cachedItems;
        this.warmup = warmup;
    }

    public string ResponseId => responseId;

    /// <summary>The output items produced so far (complete once the frames are exhausted).</summary>
    public IReadOnlyList<JsonElement> Output => output;

    /// <summary>The Response's final status: completed, incomplete or failed.</summary>
    public string FinalStatus => TurnAccounting.FinalStatus(turn.Outcome, warmup);

    /// <summary>The terminal Response object as the non-streaming HTTP reply (call after the frames).</summary>
    public byte[] FinalResponse() => Write(w => WriteResponse(w, FinalStatus, terminal: true));

    public IEnumerable<byte[]> Frames(string? failWithCode = null)
    {
        yield return Event("response.created", w => WriteResponseProperty(w, "in_progress", terminal: false));
        if (warmup)
        {
            yield return Event("response.completed", w => WriteResponseProperty(w, "completed", terminal: true));
            yield break;
        }

        yield return Event("response.in_progress", w => WriteResponseProperty(w, "in_progress", terminal: false));

        if (failWithCode is not null || turn.Outcome == ModelOutcome.Failed)
        {
            var code = failWithCode ?? turn.FailCode ?? "server_error";
            yield return Event("response.failed", w =>
            {
                w.WritePropertyName("response"u8);
                WriteResponse(w, "failed", terminal: true, errorCode: code);
            });
            yield break;
        }

        var incomplete = turn.Outcome == ModelOutcome.Incomplete;
        for (var index = 0; index < turn.Items.Count; index++)
        {
            var frames = turn.Items[index] switch
            {
                PlannedItem.Reasoning r => Reasoning(index, r),
                PlannedItem.Message m => Message(index, m, incomplete),
                PlannedItem.Refusal r => Refusal(index, r),
                PlannedItem.Call c => Call(index, c),
                _ => [],
            };
            foreach (var frame in frames)
            {
                yield return frame;
            }
        }

        var status = incomplete ? "incomplete" : "completed";
        yield return Event(incomplete ? "response.incomplete" : "response.completed", w => WriteResponseProperty(w, status, terminal: true));
    }

    /// <summary>A valid delta frame padded to about <paramref name="bytes"/> bytes.</summary>
    public byte[] OversizedDelta(int bytes) => Event("response.output_text.delta", w =>
    {
        w.WriteNumber("content_index"u8, 0);
        w.WriteString("delta"u8, new string('x', Math.Max(1, bytes - 160)));
        w.WriteString("item_id"u8, $"msg_{suffix}_pad");
        w.WriteNumber("output_index"u8, 0);
    });

    private IEnumerable<byte[]> Message(int index, PlannedItem.Message m, bool incomplete)
    {
        var id = $"msg_{suffix}_{index}";
        var chunks = TurnAccounting.Chunks(m.Text);
        var annotation = default((int Start, int End)?);
        if (m.Cite)
        {
            const string cite = " See example.com.";
            chunks.Add(cite);
            var full = string.Concat(chunks);
            annotation = (full.Length - cite.Length + 5, full.Length - 1);
        }

        if (incomplete)
        {
            chunks = chunks.Take(Math.Max(1, chunks.Count / 2)).ToList();
            annotation = null;
        }

        var text = string.Concat(chunks);
        yield return MessageAdded(id, index);
        yield return Event("response.content_part.added", w =>
        {
            Location(w, id, index, 0);
            w.WritePropertyName("part"u8);
            WriteTextPart(w, string.Empty, null);
        });
        foreach (var chunk in chunks)
        {
            yield return Event("response.output_text.delta", w =>
            {
                Location(w, id, index, 0);
                w.WriteString("delta"u8, chunk);
                w.WriteStartArray("logprobs"u8);
                w.WriteEndArray();
            });
        }

        if (annotation is { } a)
        {
            yield return Event("response.output_text.annotation.added", w =>
            {
                Location(w, id, index, 0);
                w.WriteNumber("annotation_index"u8, 0);
                w.WritePropertyName("annotation"u8);
                WriteAnnotation(w, a);
            });
        }

        yield return Event("response.output_text.done", w =>
        {
            Location(w, id, index, 0);
            w.WriteString("text"u8, text);
            w.WriteStartArray("logprobs"u8);
            w.WriteEndArray();
        });
        yield return Event("response.content_part.done", w =>
        {
            Location(w, id, index, 0);
            w.WritePropertyName("part"u8);
            WriteTextPart(w, text, annotation);
        });
        yield return ItemDone(index, Element(w => WriteMessage(w, id, incomplete ? "incomplete" : "completed", c => WriteTextPart(c, text, annotation))));
    }

    private IEnumerable<byte[]> Refusal(int index, PlannedItem.Refusal r)
    {
        var id = $"msg_{suffix}_{index}";
        yield return MessageAdded(id, index);
        yield return Event("response.content_part.added", w =>
        {
            Location(w, id, index, 0);
            w.WritePropertyName("part"u8);
            WriteRefusalPart(w, string.Empty);
        });
        foreach (var chunk in TurnAccounting.Chunks(r.Text))
        {
            yield return Event("response.refusal.delta", w =>
            {
                Location(w, id, index, 0);
                w.WriteString("delta"u8, chunk);
            });
        }

        yield return Event("response.refusal.done", w =>
        {
            Location(w, id, index, 0);
            w.WriteString("refusal"u8, r.Text);
        });
        yield return Event("response.content_part.done", w =>
        {
            Location(w, id, index, 0);
            w.WritePropertyName("part"u8);
            WriteRefusalPart(w, r.Text);
        });
        yield return ItemDone(index, Element(w => WriteMessage(w, id, "completed", c => WriteRefusalPart(c, r.Text))));
    }

    private IEnumerable<byte[]> Reasoning(int index, PlannedItem.Reasoning r)
    {
        var id = $"rs_{suffix}_{index}";
        yield return Event("response.output_item.added", w =>
        {
            w.WriteNumber("output_index"u8, index);
            w.WritePropertyName("item"u8);
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("type"u8, "reasoning"u8);
            w.WriteStartArray("summary"u8);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        for (var s = 0; s < r.Summary.Count; s++)
        {
            var summaryIndex = s;
            var text = r.Summary[s];
            yield return Event("response.reasoning_summary_part.added", w =>
            {
                SummaryLocation(w, id, index, summaryIndex);
                w.WritePropertyName("part"u8);
                WriteSummaryPart(w, string.Empty);
            });
            foreach (var chunk in TurnAccounting.Chunks(text))
            {
                yield return Event("response.reasoning_summary_text.delta", w =>
                {
                    SummaryLocation(w, id, index, summaryIndex);
                    w.WriteString("delta"u8, chunk);
                });
            }

            yield return Event("response.reasoning_summary_text.done", w =>
            {
                SummaryLocation(w, id, index, summaryIndex);
                w.WriteString("text"u8, text);
            });
            yield return Event("response.reasoning_summary_part.done", w =>
            {
                SummaryLocation(w, id, index, summaryIndex);
                w.WritePropertyName("part"u8);
                WriteSummaryPart(w, text);
            });
        }

        yield return ItemDone(index, Element(w =>
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("type"u8, "reasoning"u8);
            w.WriteStartArray("summary"u8);
            foreach (var text in r.Summary)
            {
                WriteSummaryPart(w, text);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }));
    }

    private IEnumerable<byte[]> Call(int index, PlannedItem.Call c)
    {
        var id = $"fc_{suffix}_{index}";
        var callId = $"call_{suffix}_{index}";
        yield return Event("response.output_item.added", w =>
        {
            w.WriteNumber("output_index"u8, index);
            w.WritePropertyName("item"u8);
            WriteCall(w, id, callId, c.Name, string.Empty, "in_progress");
        });
        var third = Math.Max(1, c.Arguments.Length / 3);
        for (var start = 0; start < c.Arguments.Length; start += third)
        {
            var piece = c.Arguments.Substring(start, Math.Min(third, c.Arguments.Length - start));
            yield return Event("response.function_call_arguments.delta", w =>
            {
                w.WriteString("delta"u8, piece);
                w.WriteString("item_id"u8, id);
                w.WriteNumber("output_index"u8, index);
            });
        }

        yield return Event("response.function_call_arguments.done", w =>
        {
            w.WriteString("arguments"u8, c.Arguments);
            w.WriteString("item_id"u8, id);
            w.WriteString("name"u8, c.Name);
            w.WriteNumber("output_index"u8, index);
        });
        yield return ItemDone(index, Element(w => WriteCall(w, id, callId, c.Name, c.Arguments, "completed")));
    }

    private byte[] MessageAdded(string id, int index) => Event("response.output_item.added", w =>
    {
        w.WriteNumber("output_index"u8, index);
        w.WritePropertyName("item"u8);
        WriteMessage(w, id, "in_progress", static _ => { });
    });

    private byte[] ItemDone(int index, JsonElement item)
    {
        output.Add(item);
        return Event("response.output_item.done", w =>
        {
            w.WritePropertyName("item"u8);
            item.WriteTo(w);
            w.WriteNumber("output_index"u8, index);
        });
    }

    private void WriteResponseProperty(Utf8JsonWriter w, string status, bool terminal)
    {
        w.WritePropertyName("response"u8);
        WriteResponse(w, status, terminal);
    }

    private void WriteResponse(Utf8JsonWriter w, string status, bool terminal, string? errorCode = null)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, responseId);
        w.WriteString("object"u8, "response"u8);
        w.WriteNumber("created_at"u8, createdAt);
        w.WriteString("status"u8, status);
        w.WriteBoolean("background"u8, false);
        WriteOutcomeDetails(w, errorCode, incomplete: terminal && status == "incomplete");
        WriteEcho(w, "instructions"u8, request.Instructions);
        if (request.MaxOutputTokens is { } mot) w.WriteNumber("max_output_tokens"u8, mot);
        else w.WriteNull("max_output_tokens"u8);
        w.WriteString("model"u8, request.Model ?? "sim-model");
        w.WriteStartArray("output"u8);
        if (terminal && errorCode is null)
        {
            foreach (var item in output)
            {
                item.WriteTo(w);
            }
        }

        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls"u8, request.ParallelToolCalls ?? true);
        WriteEcho(w, "previous_response_id"u8, previousResponseId);
        WriteElement(w, "reasoning"u8, request.Reasoning);
        WriteRequestSettings(w, request);
        if (terminal && errorCode is null)
        {
            WriteUsage(w, TurnAccounting.Usage(contextItems, cachedItems, output, warmup));
        }
        else
        {
            w.WriteNull("usage"u8);
        }

        WriteEcho(w, "user"u8, request.User);
        if (request.Metadata is { } md) { w.WritePropertyName("metadata"u8); md.WriteTo(w); }
        else { w.WriteStartObject("metadata"u8); w.WriteEndObject(); }
        w.WriteEndObject();
    }

    private byte[] Event(string type, Action<Utf8JsonWriter> body) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("type"u8, type);
        body(w);
        w.WriteNumber("sequence_number"u8, sequence++);
        w.WriteEndObject();
    });
}
