using System.Text;

namespace Fantasy.Actors.Protocol.Tests;

public sealed class ReceivedJsonSpecs
{
    private const string Delta = """{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","obfuscation":"xyz"}""";

    [Fact]
    public void Parse_keeps_the_received_bytes_only_when_asked()
    {
        var bytes = Encoding.UTF8.GetBytes(Delta);
        Assert.True(EventParser.Parse(bytes).ReceivedJson.IsEmpty);

        var kept = EventParser.Parse(bytes, keepRaw: true);
        Assert.Equal(Delta, Encoding.UTF8.GetString(kept.ReceivedJson.Span));

        // A copy: the caller's buffer can be reused.
        bytes[0] = (byte)' ';
        Assert.Equal(Delta, Encoding.UTF8.GetString(kept.ReceivedJson.Span));
    }

    [Fact]
    public void Equality_ignores_the_received_bytes_but_not_the_fields()
    {
        var bytes = Encoding.UTF8.GetBytes(Delta);
        var plain = EventParser.Parse(bytes);
        var kept = EventParser.Parse(bytes, keepRaw: true);
        Assert.Equal(plain, kept);
        Assert.Equal(plain.GetHashCode(), kept.GetHashCode());

        var other = EventParser.Parse(Encoding.UTF8.GetBytes(Delta.Replace("\"Hi\"", "\"Ho\"", StringComparison.Ordinal)));
        Assert.NotEqual(plain, other);
        var otherSequence = EventParser.Parse(Encoding.UTF8.GetBytes(Delta.Replace(":3,", ":4,", StringComparison.Ordinal)));
        Assert.NotEqual(plain, otherSequence);
    }

    [Fact]
    public async Task Sse_reader_keeps_the_received_bytes_when_asked()
    {
        var sse = $"event: response.output_text.delta\ndata: {Delta}\n\ndata: [DONE]\n\n";
        await using var body = new MemoryStream(Encoding.UTF8.GetBytes(sse));
        var events = new List<ServerEvent>();
        await foreach (var e in SseEventReader.ReadAsync(body, keepRaw: true))
        {
            events.Add(e);
        }

        Assert.Equal(Delta, Encoding.UTF8.GetString(Assert.Single(events).ReceivedJson.Span));
    }
}
