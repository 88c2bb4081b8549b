using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.Protocol.Tests.Requests;

public sealed class ResponseRequestSpecs
{
    private const string Body = """
        {
          "model": "gpt-5.5",
          "instructions": "Be brief.",
          "input": [
            {"type":"message","role":"user","content":[{"type":"input_text","text":"Hi \u00e9"}]},
            {"type":"function_call_output","call_id":"call_1","output":"{\"ok\":true}"}
          ],
          "tools": [{"type":"function","name":"get_weather","parameters":{"type":"object"}}],
          "tool_choice": "auto",
          "parallel_tool_calls": true,
          "store": false,
          "reasoning": {"effort":"low","summary":"auto"},
          "text": {"format":{"type":"text"}},
          "include": ["reasoning.encrypted_content"],
          "max_output_tokens": 512,
          "metadata": {"tenant":"t1"},
          "prompt_cache_key": "conv-1",
          "temperature": 0.7,
          "top_p": 1,
          "truncation": "auto",
          "user": "u-42",
          "stream": true,
          "service_tier": "priority",
          "vendor_extra": {"nested":[1,2,{"deep":null}]}
        }
        """;

    private static ResponseRequest Request() => ResponseRequest.Parse(Encoding.UTF8.GetBytes(Body));

    private static JsonElement Json(byte[] bytes) => JsonDocument.Parse(bytes).RootElement;

    [Fact]
    public void Parses_typed_fields_and_keeps_unknown_ones()
    {
        var r = Request();

        Assert.Equal("gpt-5.5", r.Model);
        Assert.Equal("Be brief.", r.Instructions);
        Assert.Equal(2, r.Input.Count);
        Assert.False(r.Store);
        Assert.False(r.EffectiveStore);
        Assert.Equal(512, r.MaxOutputTokens);
        Assert.Equal(0.7, r.Temperature);
        Assert.Equal(["reasoning.encrypted_content"], r.Include!);
        Assert.True(r.Stream);
        Assert.NotNull(r.Extra);
        Assert.Equal(["service_tier", "vendor_extra"], r.Extra.Keys.Order());
    }

    [Theory]
    [InlineData(16 * 1024 - 1)] // a surrogate pair split across the first segment boundary
    [InlineData(16 * 1024)]
    [InlineData(3 * 16 * 1024 + 5)]
    public void A_long_instructions_string_is_written_in_segments_with_the_same_bytes_as_whole(int emojiAt)
    {
        // Escapes, quotes, control characters and non-ASCII on both sides of every segment boundary.
        var text = new StringBuilder();
        while (text.Length < 70_000)
        {
            text.Append("line \"quoted\"\n\tcafé ").Append('\u0001').Append(" \\ end ");
        }

        text.Insert(emojiAt, "😀");
        var instructions = text.ToString();
        var request = new ResponseRequest { Model = "m", Instructions = instructions, Input = [] };

        var frame = request.ToWebSocketFrame(null, []);
        var body = request.ToHttpBody();

        Assert.Equal(instructions, JsonDocument.Parse(frame).RootElement.GetProperty("instructions").GetString());
        Assert.Equal(instructions, JsonDocument.Parse(body).RootElement.GetProperty("instructions").GetString());
        Assert.Equal(instructions, request.Settings().GetProperty("instructions").GetString());

        // Byte for byte what a whole-string write gives.
        var whole = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(whole, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("instructions", instructions);
            w.WriteEndObject();
        }

        var expected = Encoding.UTF8.GetString(whole.WrittenSpan)[1..^1];
        Assert.Contains(expected, Encoding.UTF8.GetString(frame), StringComparison.Ordinal);
    }

    [Fact]
    public void Websocket_frame_is_flat_with_type_and_no_transport_fields()
    {
        var r = Request();
        var frame = Json(r.ToWebSocketFrame("resp_prev", r.Input));

        Assert.Equal("response.create", frame.GetProperty("type").GetString());
        Assert.Equal("resp_prev", frame.GetProperty("previous_response_id").GetString());
        Assert.False(frame.TryGetProperty("stream", out _));
        Assert.False(frame.TryGetProperty("generate", out _));
        Assert.False(frame.TryGetProperty("stream_id", out _));
        Assert.Equal("priority", frame.GetProperty("service_tier").GetString());
        Assert.True(JsonElement.DeepEquals(Json(Encoding.UTF8.GetBytes(Body)).GetProperty("vendor_extra"), frame.GetProperty("vendor_extra")));
        Assert.True(JsonElement.DeepEquals(Json(Encoding.UTF8.GetBytes(Body)).GetProperty("tools"), frame.GetProperty("tools")));
        Assert.Equal(2, frame.GetProperty("input").GetArrayLength());
    }

    [Fact]
    public void Warmup_frame_has_generate_false_and_a_lane_when_named()
    {
        var r = Request();
        var frame = Json(r.ToWebSocketFrame(null, r.Input, generate: false, streamId: "main"));

        Assert.False(frame.GetProperty("generate").GetBoolean());
        Assert.Equal("main", frame.GetProperty("stream_id").GetString());
        Assert.False(frame.TryGetProperty("previous_response_id", out _));
    }

    [Fact]
    public void Http_body_streams_and_drops_websocket_only_fields()
    {
        var r = Request() is var req ? req.WithInput(req.Input) : null;
        var parsedWithLane = ResponseRequest.Parse("""{"model":"m","input":"hi","generate":false,"stream_id":"main","previous_response_id":"resp_x"}"""u8);
        var body = Json(parsedWithLane.ToHttpBody());

        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.False(body.TryGetProperty("type", out _));
        Assert.False(body.TryGetProperty("generate", out _));
        Assert.False(body.TryGetProperty("stream_id", out _));
        Assert.False(body.TryGetProperty("previous_response_id", out _));
        Assert.Equal("priority", Json(r!.ToHttpBody()).GetProperty("service_tier").GetString());
        Assert.Equal("resp_x", Json(parsedWithLane.ToHttpBody(previousResponseId: "resp_x")).GetProperty("previous_response_id").GetString());
    }

    [Fact]
    public void Input_items_round_trip_exactly()
    {
        var original = Json(Encoding.UTF8.GetBytes(Body)).GetProperty("input");
        var r = Request();

        var overWs = Json(r.ToWebSocketFrame(null, r.Input)).GetProperty("input");
        var overHttp = Json(r.ToHttpBody()).GetProperty("input");

        Assert.True(JsonElement.DeepEquals(original, overWs));
        Assert.True(JsonElement.DeepEquals(original, overHttp));
    }

    [Fact]
    public void A_frame_parses_back_to_the_same_request()
    {
        var r = Request();
        var back = ResponseRequest.Parse(r.ToWebSocketFrame(null, r.Input));

        Assert.True(JsonElement.DeepEquals(r.Settings(), back.Settings()));
        Assert.False(back.Extra!.ContainsKey("type"));
    }

    [Fact]
    public void String_input_is_one_user_message()
    {
        var r = ResponseRequest.Parse("""{"model":"m","input":"Hello"}"""u8);

        var item = Assert.Single(r.Input);
        Assert.Equal("message", item.GetProperty("type").GetString());
        Assert.Equal("user", item.GetProperty("role").GetString());
        Assert.Equal("Hello", item.GetProperty("content").GetString());
    }

    [Fact]
    public void Settings_ignore_input_and_transport_fields_but_see_every_other_change()
    {
        var a = ResponseRequest.Parse("""{"model":"m","input":"a","stream":true,"generate":false,"previous_response_id":"x","tools":[]}"""u8);
        var b = ResponseRequest.Parse("""{"tools":[],"input":"b","model":"m"}"""u8);
        var c = ResponseRequest.Parse("""{"model":"m","input":"a","tools":[],"temperature":0.2}"""u8);
        var d = ResponseRequest.Parse("""{"model":"m","input":"a","tools":[],"service_tier":"flex"}"""u8);

        Assert.True(JsonElement.DeepEquals(a.Settings(), b.Settings()));
        Assert.False(JsonElement.DeepEquals(a.Settings(), c.Settings()));
        Assert.False(JsonElement.DeepEquals(a.Settings(), d.Settings()));
    }

    [Theory]
    [InlineData("not json", "invalid JSON")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("""{"model":5}""", "$.model")]
    [InlineData("""{"model":"m","temperature":"hot"}""", "$.temperature")]
    [InlineData("""{"model":"m","input":5}""", "input")]
    [InlineData("""{"model":"m","input":[1]}""", "input[0]")]
    [InlineData("""{"model":"m","store":"yes"}""", "$.store")]
    [InlineData("""{"model":"m"} {}""", "invalid JSON")]
    public void Bad_bodies_give_a_protocol_exception_naming_the_problem(string body, string expected)
    {
        var ex = Assert.Throws<ProtocolException>(() => ResponseRequest.Parse(Encoding.UTF8.GetBytes(body)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
