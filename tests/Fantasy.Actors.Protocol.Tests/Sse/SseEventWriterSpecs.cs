using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text;

namespace Fantasy.Actors.Protocol.Tests.Sse;

/// <summary><see cref="SseEventWriter"/>'s frames against the framework's own formatter and reader.</summary>
public sealed class SseEventWriterSpecs
{
    private static async Task<string> GatewayFrameAsync(string type, string data)
    {
        using var stream = new MemoryStream();
        await SseEventWriter.WriteAsync(stream, type, Encoding.UTF8.GetBytes(data), CancellationToken.None);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async Task<string> FormatterFrameAsync(string type, string data)
    {
        using var stream = new MemoryStream();
        await SseFormatter.WriteAsync(
            One(new SseItem<string>(data, type)), stream,
            static (item, writer) => writer.Write(Encoding.UTF8.GetBytes(item.Data)), CancellationToken.None);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async IAsyncEnumerable<SseItem<string>> One(SseItem<string> item)
    {
        await Task.Yield();
        yield return item;
    }

    [Theory]
    [InlineData("""{"type":"response.output_text.delta","delta":"hi"}""")]
    [InlineData("{\n  \"type\": \"response.created\",\n  \"response\": {}\n}")]
    [InlineData("{\r\n  \"a\": 1\r\n}")]
    [InlineData("{\"a\":1}\n")]
    public async Task A_frame_is_what_the_framework_formatter_writes_newlines_included(string data)
    {
        var type = "response.created";
        Assert.Equal(await FormatterFrameAsync(type, data), await GatewayFrameAsync(type, data));
    }

    [Theory]
    [InlineData("response.created", """{"type":"response.output_text.delta","delta":"hi"}""")]
    [InlineData("response.created", "{\n  \"type\": \"response.created\",\n  \"response\": {}\n}")]
    [InlineData("made.up", "{\r\n  \"a\": 1\r\n}")]
    [InlineData("two\nlines", "{\"a\":1}\n")]
    public async Task A_frame_written_into_a_buffer_is_the_frame_written_to_a_stream(string type, string data)
    {
        var buffer = new ArrayBufferWriter<byte>();
        SseEventWriter.Write(buffer, type, Encoding.UTF8.GetBytes(data));
        using var stream = new MemoryStream();
        await SseEventWriter.WriteAsync(stream, type, Encoding.UTF8.GetBytes(data), CancellationToken.None);
        Assert.Equal(Encoding.UTF8.GetString(stream.ToArray()), Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public async Task A_pretty_printed_payload_reads_back_as_the_same_json()
    {
        var data = "{\n  \"type\": \"error\",\n  \"message\": \"x\"\n}";
        var frame = await GatewayFrameAsync("error", data);
        var items = new List<string>();
        await foreach (var item in SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(frame))).EnumerateAsync())
        {
            items.Add(item.Data);
        }

        Assert.Equal([data], items);
    }

    [Fact]
    public async Task Event_types_the_library_does_not_know_are_written_each_with_its_own_head()
    {
        // The heads of made-up types are encoded per frame (the cache is frozen over EventTypes), so none can leak
        // into another frame: each of these frames is exactly its own.
        using var stream = new MemoryStream();
        for (var i = 0; i < 5_000; i++)
        {
            stream.SetLength(0);
            await SseEventWriter.WriteAsync(stream, "vendor.made_up." + i, "{}"u8.ToArray(), CancellationToken.None);
            Assert.Equal($"event: vendor.made_up.{i}\ndata: {{}}\n\n", Encoding.UTF8.GetString(stream.ToArray()));
        }
    }

    [Fact]
    public async Task A_known_type_is_written_as_the_formatter_writes_it()
    {
        var data = """{"type":"response.completed","response":{}}""";
        Assert.Equal(await FormatterFrameAsync(EventTypes.Completed, data), await GatewayFrameAsync(EventTypes.Completed, data));
    }

    [Fact]
    public async Task A_type_with_a_line_break_cannot_add_lines_to_the_stream()
    {
        var frame = await GatewayFrameAsync("x\ndata: injected\n\nevent: y", """{"type":"x"}""");

        Assert.Equal("data: {\"type\":\"x\"}\n\n", frame);
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(frame))).EnumerateAsync())
        {
            items.Add(item);
        }

        Assert.Equal("""{"type":"x"}""", Assert.Single(items).Data);
    }

    [Fact]
    public async Task The_done_frame_ends_a_stream_the_reader_stops_at()
    {
        using var stream = new MemoryStream();
        await SseEventWriter.WriteAsync(stream, EventTypes.Created, """{"type":"response.created","response":{"id":"resp_1","status":"in_progress","output":[]}}"""u8.ToArray());
        await SseEventWriter.WriteDoneAsync(stream);
        stream.Position = 0;

        var events = new List<ServerEvent>();
        await foreach (var e in SseEventReader.ReadAsync(stream))
        {
            events.Add(e);
        }

        Assert.IsType<ResponseCreated>(Assert.Single(events));
    }
}
