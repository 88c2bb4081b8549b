using System.Text;
using System.Text.Json;
using Fantasy.Actors.Protocol;
using Microsoft.Extensions.AI;

namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary><see cref="ChatMapping"/>: chat contents to input items and a turn's output to contents.</summary>
public sealed class ChatMappingSpecs
{
    private static TurnResult Turn(params string[] events)
    {
        var accumulator = new TurnAccumulator();
        foreach (var e in events)
        {
            accumulator.Apply(EventParser.Parse(Encoding.UTF8.GetBytes(e)));
        }

        return accumulator.ToResult();
    }

    private static string Reasoning(string id, params string[] summary)
    {
        var parts = string.Join(",", summary.Select(s => $$"""{"type":"summary_text","text":"{{s}}"}"""));
        return $$$"""{"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","id":"{{{id}}}","summary":[{{{parts}}}]}}""";
    }

    [Fact]
    public void Each_reasoning_item_carries_its_own_summary_not_the_turns_whole()
    {
        var result = Turn(
            """{"type":"response.created","response":{"id":"resp_1","status":"in_progress","output":[]}}""",
            Reasoning("rs_1", "first thought", "second thought"),
            Reasoning("rs_2", "third thought"),
            """{"type":"response.output_item.done","output_index":2,"item":{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"hi","annotations":[]}]}}""",
            """{"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[]}}""");

        var reasoning = ChatMapping.Contents(result).OfType<TextReasoningContent>().ToList();

        Assert.Equal(["first thought\nsecond thought", "third thought"], reasoning.Select(r => r.Text));
        Assert.Equal(["rs_1", "rs_2"], reasoning.Select(r => ((OutputItem)r.RawRepresentation!).Id));
    }

    private static JsonElement OnlyPart(ChatMessage message)
    {
        var item = Assert.Single(ChatMapping.Items([message]));
        return Assert.Single(item.GetProperty("content").EnumerateArray(), p => p.GetProperty("type").GetString() != ItemTypes.InputText);
    }

    [Fact]
    public void An_image_goes_as_input_image_with_its_data_uri()
    {
        var png = new DataContent(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, "image/png");
        var part = OnlyPart(new ChatMessage(ChatRole.User, [new TextContent("what is this?"), png]));

        Assert.Equal(ItemTypes.InputImage, part.GetProperty("type").GetString());
        Assert.Equal(png.Uri, part.GetProperty("image_url").GetString());
    }

    [Fact]
    public void A_pdf_goes_as_input_file_with_its_name_and_data()
    {
        var pdf = new DataContent(Encoding.ASCII.GetBytes("%PDF-1.7 marker"), "application/pdf") { Name = "report.pdf" };
        var part = OnlyPart(new ChatMessage(ChatRole.User, [new TextContent("summarise"), pdf]));

        Assert.Equal(ItemTypes.InputFile, part.GetProperty("type").GetString());
        Assert.Equal("report.pdf", part.GetProperty("filename").GetString());
        Assert.Equal(pdf.Uri, part.GetProperty("file_data").GetString());
        Assert.False(part.TryGetProperty("image_url", out _));
    }

    [Fact]
    public void A_pdf_by_url_goes_as_input_file_and_an_image_by_url_as_input_image()
    {
        var pdf = OnlyPart(new ChatMessage(ChatRole.User, [new TextContent("read"), new UriContent("https://example.test/a.pdf", "application/pdf")]));
        var image = OnlyPart(new ChatMessage(ChatRole.User, [new TextContent("look"), new UriContent("https://example.test/a.jpg", "image/jpeg")]));

        Assert.Equal((ItemTypes.InputFile, "https://example.test/a.pdf"), (pdf.GetProperty("type").GetString(), pdf.GetProperty("file_url").GetString()));
        Assert.Equal((ItemTypes.InputImage, "https://example.test/a.jpg"), (image.GetProperty("type").GetString(), image.GetProperty("image_url").GetString()));
    }

    [Theory]
    [InlineData("audio/wav")]
    [InlineData("application/zip")]
    [InlineData("text/csv")]
    public void Media_the_api_does_not_take_is_refused_before_anything_is_sent(string mediaType)
    {
        var data = new DataContent(new byte[] { 1, 2, 3 }, mediaType);

        var ex = Assert.Throws<NotSupportedException>(() => ChatMapping.Items([new ChatMessage(ChatRole.User, [new TextContent("x"), data])]));
        Assert.Contains(mediaType, ex.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => ChatMapping.Items([new ChatMessage(ChatRole.User, [new UriContent("https://example.test/x", mediaType)])]));
    }
}
