using System.Text;
using CsCheck;

namespace Fantasy.Actors.Protocol.Tests.Events;

public sealed class EventParserSpecs
{
    private static ServerEvent Parse(string json) => EventParser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Every_vector_frame_parses_to_an_event_of_its_own_type()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Vectors"), "*.jsonl");
        Assert.NotEmpty(files);
        var count = 0;
        foreach (var file in files)
        {
            foreach (var frame in Vectors.Frames(Path.GetFileName(file)))
            {
                var e = EventParser.Parse(frame);
                using var doc = System.Text.Json.JsonDocument.Parse(frame);
                Assert.Equal(doc.RootElement.GetProperty("type").GetString(), e.Type);
                count++;
            }
        }

        Assert.True(count > 250, $"only {count} frames");
    }

    [Fact]
    public void Delta_keeps_its_fields_and_sequence_number()
    {
        var e = Assert.IsType<OutputTextDelta>(Parse(
            """{"type":"response.output_text.delta","content_index":1,"delta":"Hi","item_id":"msg_1","logprobs":[],"obfuscation":"xyz","output_index":2,"sequence_number":7}"""));

        Assert.Equal("Hi", e.Delta);
        Assert.Equal("msg_1", e.ItemId);
        Assert.Equal(2, e.OutputIndex);
        Assert.Equal(1, e.ContentIndex);
        Assert.Equal(7, e.SequenceNumber);
        Assert.Null(e.StreamId);
    }

    [Fact]
    public void Type_may_come_last_and_stream_id_is_preserved()
    {
        var e = Assert.IsType<FunctionCallArgumentsDelta>(Parse(
            """{"delta":"{\"a\"","item_id":"fc_1","output_index":0,"sequence_number":3,"stream_id":"lane-1","type":"response.function_call_arguments.delta"}"""));

        Assert.Equal("{\"a\"", e.Delta);
        Assert.Equal("lane-1", e.StreamId);
        Assert.Equal(3, e.SequenceNumber);
    }

    [Fact]
    public void An_escaped_type_string_is_still_recognised()
    {
        var e = Parse("""{"type":"response.output_text\u002edelta","delta":"x"}""");
        Assert.IsType<OutputTextDelta>(e);
    }

    [Fact]
    public void Consecutive_deltas_of_one_item_share_the_item_id_string()
    {
        var a = (OutputTextDelta)Parse("""{"type":"response.output_text.delta","item_id":"msg_same","delta":"a"}""");
        var b = (OutputTextDelta)Parse("""{"type":"response.output_text.delta","item_id":"msg_same","delta":"b"}""");
        var c = (OutputTextDelta)Parse("""{"type":"response.output_text.delta","item_id":"msg_other","delta":"c"}""");

        Assert.Same(a.ItemId, b.ItemId);
        Assert.Equal("msg_other", c.ItemId);
    }

    [Fact]
    public void Unknown_events_keep_their_raw_json()
    {
        const string json = """{"type":"codex.rate_limits","primary":{"used_percent":12.5}}""";
        var e = Assert.IsType<UnknownEvent>(Parse(json));

        Assert.Equal("codex.rate_limits", e.Type);
        Assert.Equal(json, e.RawText);
    }

    [Fact]
    public void Function_call_arguments_done_has_a_name_only_when_sent()
    {
        var withName = (FunctionCallArgumentsDone)Vectors.Events("reasoning-then-call.jsonl").Single(e => e is FunctionCallArgumentsDone);
        var without = (FunctionCallArgumentsDone)Vectors.Events("function-calls-parallel.jsonl").First(e => e is FunctionCallArgumentsDone);

        Assert.Equal("run_tests", withName.Name);
        Assert.Null(without.Name);
        Assert.Equal("""{"city":"Paris","unit":"celsius"}""", without.Arguments);
    }

    [Fact]
    public void Response_events_carry_the_whole_response_as_sent()
    {
        var created = Assert.IsType<ResponseCreated>(Vectors.Events("text-answer.jsonl")[0]);

        Assert.Equal("in_progress", created.Response.Status);
        Assert.Equal("gpt-5.5-2026-04-23", created.Response.Model);
        Assert.Equal("Answer in one short sentence.", created.Response.Json.GetProperty("instructions").GetString());
        Assert.Equal(0, created.SequenceNumber);
    }

    [Fact]
    public void Ws_error_frames_become_error_events_with_the_nested_error()
    {
        var e = Assert.IsType<ErrorEvent>(Vectors.Events("ws-error-prnf.jsonl").Single());

        Assert.Equal("previous_response_not_found", e.Error.Code);
        Assert.Equal(400, e.Error.Status);
        Assert.Null(e.SequenceNumber);
    }

    [Theory]
    [InlineData("", "not JSON (empty)")]
    [InlineData("not json", "not JSON")]
    [InlineData("[1,2,3]", "not an object")]
    [InlineData("\"response.completed\"", "a string")]
    [InlineData("""{"delta":"x"}""", "missing type")]
    [InlineData("""{"type":42}""", "numeric type")]
    [InlineData("""{"type":null}""", "null type")]
    [InlineData("""{"type":"response.output_text.delta","delta":"x""", "truncated")]
    [InlineData("""{"type":"response.output_text.delta","delta":"x"} trailing""", "trailing garbage")]
    [InlineData("""{"type":"response.output_text.delta","delta":5}""", "delta of the wrong type")]
    [InlineData("""{"type":"response.output_text.delta"}""", "delta missing")]
    [InlineData("""{"type":"response.output_text.delta","delta":"x","output_index":"1"}""", "index as string")]
    [InlineData("""{"type":"response.output_text.delta","delta":"x","output_index":1.5}""", "index not integral")]
    [InlineData("""{"type":"response.output_text.delta","delta":"x","sequence_number":"3"}""", "sequence as string")]
    [InlineData("""{"type":"response.completed"}""", "response missing")]
    [InlineData("""{"type":"response.completed","response":[]}""", "response not an object")]
    [InlineData("""{"type":"response.completed","response":{"id":5}}""", "response id of the wrong type")]
    [InlineData("""{"type":"response.completed","response":{"id":"r","output":["x"]}}""", "output item not an object")]
    [InlineData("""{"type":"response.completed","response":{"id":"r","usage":{"input_tokens":"many"}}}""", "usage of the wrong type")]
    [InlineData("""{"type":"response.output_item.done","output_index":0}""", "item missing")]
    [InlineData("""{"type":"response.output_item.done","item":"x"}""", "item not an object")]
    [InlineData("""{"type":"response.output_text.annotation.added","annotation":7}""", "annotation not an object")]
    [InlineData("""{"type":"error","error":{"code":{"nested":true}}}""", "error code of the wrong type")]
    [InlineData("""{"type":"error","sequence_number":"x","code":"c"}""", "error sequence of the wrong type")]
    [InlineData("""{"type":"codex.rate_limits","x":[1,2""", "truncated unknown event")]
    [InlineData("{\"type\":\"response.output_text.delta\",\"delta\":\"\xff\"}", "invalid UTF-8")]
    public void Malformed_input_throws_a_protocol_exception_with_an_excerpt(string input, string why)
    {
        var bytes = why == "invalid UTF-8"
            ? [.. Encoding.UTF8.GetBytes("{\"type\":\"response.output_text.delta\",\"delta\":\""), 0xff, .. "\"}"u8]
            : Encoding.UTF8.GetBytes(input);

        var ex = Assert.Throws<ProtocolException>(() => EventParser.Parse(bytes));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message), why);
        Assert.True(ex.Excerpt.Length <= ProtocolException.MaxExcerptChars + 1, why);
    }

    [Fact]
    public void The_excerpt_of_a_huge_bad_frame_is_bounded()
    {
        var huge = Encoding.UTF8.GetBytes("{\"type\":\"x\",\"pad\":\"" + new string('a', 1_000_000));
        var ex = Assert.Throws<ProtocolException>(() => EventParser.Parse(huge));

        Assert.True(ex.Excerpt.Length <= ProtocolException.MaxExcerptChars + 1);
        Assert.Equal(huge.Length, ex.InputLength);
    }

    [Fact]
    public void Random_bytes_never_throw_anything_but_protocol_exception()
    {
        Gen.Byte.Array[0, 300].Sample(bytes => ParsesOrRejects(bytes), iter: 20_000);
    }

    private static readonly byte[][] ValidFrames = Vectors.StreamFiles
        .Concat(["ws-error-variants.jsonl", "ws-error-prnf.jsonl", "ws-error-limit.jsonl"])
        .SelectMany(Vectors.Frames)
        .ToArray();

    [Fact]
    public void Mutated_valid_frames_never_throw_anything_but_protocol_exception()
    {
        var mutation =
            from frameIndex in Gen.Int[0, ValidFrames.Length - 1]
            from edits in Gen.Select(Gen.Int[0, 3], Gen.Double[0, 1], Gen.Byte).Array[1, 6]
            select (frameIndex, edits);

        mutation.Sample(m =>
        {
            var bytes = ValidFrames[m.frameIndex].ToList();
            foreach (var (op, where, value) in m.edits)
            {
                if (bytes.Count == 0)
                {
                    break;
                }

                var at = (int)(where * (bytes.Count - 1));
                switch (op)
                {
                    case 0: bytes[at] = value; break;                  // flip a byte
                    case 1: bytes.RemoveAt(at); break;                 // drop a byte
                    case 2: bytes.Insert(at, value); break;            // insert a byte
                    default: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
                }
            }

            ParsesOrRejects(bytes.ToArray());
        }, iter: 20_000);
    }

    private static void ParsesOrRejects(byte[] bytes)
    {
        try
        {
            var e = EventParser.Parse(bytes);
            Assert.NotNull(e.Type);
        }
        catch (ProtocolException)
        {
            // The one allowed outcome for bad input.
        }
    }
}
