using System.Text;

namespace Fantasy.Actors.Protocol.Tests.Sse;

public sealed class SseEventReaderSpecs
{
    private static async Task<List<ServerEvent>> ReadAllAsync(string body)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(body));
        var list = new List<ServerEvent>();
        await foreach (var e in SseEventReader.ReadAsync(stream))
        {
            list.Add(e);
        }

        return list;
    }

    [Fact]
    public async Task Reads_a_raw_capture_and_stops_at_done()
    {
        await using var stream = File.OpenRead(Vectors.PathOf("sse-raw-done.txt"));
        var events = new List<ServerEvent>();
        await foreach (var e in SseEventReader.ReadAsync(stream))
        {
            events.Add(e);
        }

        Assert.Equal(13, events.Count);
        Assert.IsType<ResponseCompleted>(events[^1]);
    }

    [Fact]
    public async Task Accepts_crlf_comments_and_multi_line_data()
    {
        var body = ": keep-alive\r\n\r\nevent: response.output_text.delta\r\ndata: {\"type\":\"response.output_text.delta\",\r\ndata: \"delta\":\"Hi\"}\r\n\r\n";
        var e = Assert.Single(await ReadAllAsync(body));

        Assert.Equal("Hi", Assert.IsType<OutputTextDelta>(e).Delta);
    }

    [Fact]
    public async Task Nothing_after_done_is_read()
    {
        var body = "data: {\"type\":\"response.output_text.delta\",\"delta\":\"a\"}\n\ndata: [DONE]\n\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"b\"}\n\n";
        var e = Assert.Single(await ReadAllAsync(body));

        Assert.Equal("a", ((OutputTextDelta)e).Delta);
    }

    [Fact]
    public async Task A_bad_data_payload_is_a_protocol_exception()
    {
        await Assert.ThrowsAsync<ProtocolException>(() => ReadAllAsync("data: {not json}\n\n"));
    }

    [Fact]
    public async Task A_flat_error_event_is_an_error_event()
    {
        var e = Assert.Single(await ReadAllAsync("event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"boom\",\"param\":null,\"sequence_number\":3}\n\n"));
        var err = Assert.IsType<ErrorEvent>(e);

        Assert.Equal("server_error", err.Error.Code);
        Assert.Equal("boom", err.Error.Message);
        Assert.Equal(3, err.SequenceNumber);
    }
}
