using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The gateway's SSE frames against the framework's own formatter.</summary>
public sealed class SseWriterSpecs
{
    private static async Task<string> GatewayFrameAsync(string type, string data)
    {
        using var stream = new MemoryStream();
        await ResponsesEndpoint.WriteSseAsync(stream, type, Encoding.UTF8.GetBytes(data), CancellationToken.None);
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
}
