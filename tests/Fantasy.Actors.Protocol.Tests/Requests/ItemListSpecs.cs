using System.Buffers;
using System.Text.Json;

namespace Fantasy.Actors.Protocol.Tests.Requests;

public sealed class ItemListSpecs
{
    private static readonly IReadOnlyList<JsonElement> Items =
    [
        .. Enumerable.Range(0, 5).Select(i => JsonDocument.Parse($$"""{"role":"user","content":"m{{i}}"}""").RootElement),
        JsonDocument.Parse("""{"id":"fc_1","type":"function_call","name":"f","arguments":"{}","call_id":"c"}""").RootElement,
    ];

    private static JsonElement Page(ItemListQuery query)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            Assert.True(ItemList.TryWrite(w, Items, "resp_abc", query));
        }

        return JsonDocument.Parse(buffer.WrittenMemory).RootElement;
    }

    private static string[] Ids(JsonElement page) => [.. page.GetProperty("data").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];

    [Fact]
    public void Pages_follow_each_other_without_gaps_or_repeats_in_either_order()
    {
        foreach (var ascending in new[] { true, false })
        {
            var seen = new List<string>();
            string? after = null;
            while (true)
            {
                var page = Page(new ItemListQuery(2, ascending, after));
                seen.AddRange(Ids(page));
                if (!page.GetProperty("has_more").GetBoolean())
                {
                    break;
                }

                after = page.GetProperty("last_id").GetString();
            }

            var all = Ids(Page(new ItemListQuery(100, Ascending: true, null)));
            Assert.Equal(ascending ? all : [.. all.Reverse()], seen);
            Assert.Equal(6, seen.Distinct().Count());
        }
    }

    [Fact]
    public void An_item_keeps_its_id_one_without_gets_a_stable_one_and_a_string_content_message_becomes_a_typed_part()
    {
        var page = Page(new ItemListQuery(100, Ascending: true, null));
        var data = page.GetProperty("data");
        Assert.Equal("fc_1", data[5].GetProperty("id").GetString());
        Assert.Equal(Ids(page), Ids(Page(new ItemListQuery(100, Ascending: true, null))));
        Assert.Equal("message", data[0].GetProperty("type").GetString());
        Assert.Equal("input_text", data[0].GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal("m0", data[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(data[0].GetProperty("id").GetString(), page.GetProperty("first_id").GetString());
    }

    [Theory]
    [InlineData("0", null, "limit")]
    [InlineData("101", null, "limit")]
    [InlineData("x", null, "limit")]
    [InlineData(null, "sideways", "order")]
    public void A_bad_parameter_is_named(string? limit, string? order, string param)
    {
        var (query, error, named) = ItemList.ReadQuery(limit, order, null);
        Assert.Null(query);
        Assert.NotNull(error);
        Assert.Equal(param, named);
    }

    [Fact]
    public void Defaults_are_twenty_newest_first_and_an_unknown_after_is_refused()
    {
        var (query, _, _) = ItemList.ReadQuery(null, null, null);
        Assert.Equal(new ItemListQuery(20, Ascending: false, null), query);
        using var w = new Utf8JsonWriter(new ArrayBufferWriter<byte>());
        Assert.False(ItemList.TryWrite(w, Items, "resp_abc", new ItemListQuery(2, false, "msg_nope")));
    }
}

public sealed class HeldPrefixSpecs
{
    private static string Body(params string[] texts) =>
        "{\"model\":\"m\",\"input\":[" + string.Join(',', texts.Select(t => $$"""{"role":"user","content":"{{t}}"}""")) + "]}";

    [Fact]
    public void The_prefix_counts_the_held_items_a_body_begins_with_up_to_the_first_that_differs()
    {
        var first = ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(Body("a", "b")), null, null);
        Assert.Equal(0, first.HeldPrefix);
        var output = new[] { JsonDocument.Parse("""{"role":"user","content":"c"}""").RootElement };

        var next = ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(Body("a", "b", "c", "d")), first, output);
        Assert.Equal(3, next.HeldPrefix); // the previous input (by digest) and its output
        var edited = ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(Body("a", "X", "c", "d")), first, output);
        Assert.Equal(1, edited.HeldPrefix);
        Assert.Equal(0, ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(Body("a", "b"))).HeldPrefix);
    }
}
