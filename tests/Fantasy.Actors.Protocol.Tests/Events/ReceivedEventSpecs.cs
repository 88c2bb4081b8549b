using System.Text;

namespace Fantasy.Actors.Protocol.Tests.Events;

/// <summary>
/// Pass-through parsing: text-carrying events kept as their received bytes only (<see cref="ReceivedEvent"/>), and a
/// fold that takes a turn's texts from its <c>.done</c> events and output items instead of its deltas.
/// </summary>
public sealed class ReceivedEventSpecs
{
    private static ServerEvent PassThrough(string json) => EventParser.Parse(Encoding.UTF8.GetBytes(json), keepRaw: true, textAsReceived: true);

    [Theory]
    [InlineData("""{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"hi","sequence_number":7}""")]
    [InlineData("""{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"{\"a\"","sequence_number":7}""")]
    [InlineData("""{"type":"response.output_text.done","item_id":"msg_1","output_index":0,"content_index":0,"text":"hi","sequence_number":7}""")]
    [InlineData("""{"type":"response.content_part.done","item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"hi"},"sequence_number":7}""")]
    [InlineData("""{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","output_index":0,"summary_index":0,"delta":"x","sequence_number":7}""")]
    public void A_text_carrying_event_is_its_bytes_type_and_envelope_only(string json)
    {
        var e = Assert.IsType<ReceivedEvent>(PassThrough(json));
        var full = EventParser.Parse(Encoding.UTF8.GetBytes(json));

        Assert.Equal(full.Type, e.Type);
        Assert.Equal(7, e.SequenceNumber);
        Assert.Equal(json, Encoding.UTF8.GetString(e.ReceivedJson.Span));
        Assert.Equal(json.Length, e.ReceivedBytes);
    }

    [Theory]
    [InlineData("""{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":5}""")]
    [InlineData("""{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0}""")]
    [InlineData("""{"type":"response.content_part.done","item_id":"msg_1","output_index":0,"content_index":0}""")]
    [InlineData("""{"type":"response.output_text.delta","delta":"hi"} trailing""")]
    public void Bad_input_is_refused_as_strictly_as_a_full_parse(string json)
    {
        Assert.Throws<ProtocolException>(() => PassThrough(json));
        Assert.Throws<ProtocolException>(() => EventParser.Parse(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Errors_and_response_events_stay_parsed()
    {
        Assert.IsType<ErrorEvent>(PassThrough("""{"type":"error","status":429,"error":{"type":"rate_limit_error","code":"rate_limit_exceeded","message":"slow down"}}"""));
        Assert.IsType<ResponseCompleted>(PassThrough("""{"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[]}}"""));
        Assert.IsType<OutputItemDone>(PassThrough("""{"type":"response.output_item.done","output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[]}}"""));
    }

    [Theory]
    [MemberData(nameof(StreamFiles))]
    public void A_pass_through_fold_of_every_vector_stream_ends_as_the_full_fold_does(string file)
    {
        var full = Vectors.FoldFile(file);
        var passThrough = new TurnAccumulator(foldDeltas: false);
        foreach (var frame in Vectors.Frames(file))
        {
            var e = EventParser.Parse(frame, keepRaw: true, textAsReceived: true);
            Assert.Equal(frame, e.ReceivedJson.ToArray());
            passThrough.Apply(e);
        }

        var result = passThrough.ToResult();
        Assert.Equal(full.Status, result.Status);
        Assert.Equal(full.ResponseId, result.ResponseId);
        Assert.Equal(full.FinishReason, result.FinishReason);
        Assert.Equal(full.Output, result.Output);
        Assert.Equal(full.FunctionCalls, result.FunctionCalls);
        Assert.Equal(full.Usage, result.Usage);
        Assert.Equal(full.Error?.Code, result.Error?.Code);
        Assert.Equal(full.EventCount, result.EventCount);
        if (full.Status == TurnStatus.Completed)
        {
            // A completed answer's text is in its output items: the same without folding a delta.
            Assert.Equal(full.Text, result.Text);
            Assert.Equal(full.Refusal, result.Refusal);
            Assert.Equal(full.ReasoningSummary, result.ReasoningSummary);
        }
    }

    public static TheoryData<string> StreamFiles() => new(Vectors.StreamFiles);

    [Fact]
    public void A_full_parse_event_as_received_keeps_its_bytes_and_drops_its_fields()
    {
        var json = """{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"hi","sequence_number":3}""";
        var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(json), keepRaw: true);

        var received = Assert.IsType<ReceivedEvent>(parsed.AsReceived());
        Assert.Equal((EventTypes.OutputTextDelta, 3L, json), (received.Type, received.SequenceNumber!.Value, Encoding.UTF8.GetString(received.ReceivedJson.Span)));
        var withoutBytes = EventParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Same(withoutBytes, withoutBytes.AsReceived()); // nothing to hold it as: it stays as it is
    }
}
