using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace Fantasy.Actors.Protocol.Tests.Requests;

/// <summary>A create body read against the items its caller sent before: the held items reused, the result unchanged.</summary>
public sealed class KnownInputSpecs
{
    private static readonly Gen<string> Item = Gen.OneOf(
        Gen.String[Gen.Char.AlphaNumeric, 1, 40].Select(t => $$"""{"type":"message","role":"user","content":{{JsonSerializer.Serialize(t)}}}"""),
        Gen.Int[0, 9999].Select(n => $$"""{"type":"function_call","call_id":"call_{{n}}","name":"lookup","arguments":"{\"n\":{{n}}}"}"""),
        Gen.Int[0, 9999].Select(n => $$"""{"type":"function_call_output","call_id":"call_{{n}}","output":"{{n}}"}"""),
        Gen.String[Gen.Char.AlphaNumeric, 1, 40].Select(t => $$"""{"type":"message","role":"assistant","content":[{"type":"output_text","text":{{JsonSerializer.Serialize(t)}}}]}"""));

    private static byte[] Body(IEnumerable<string> items, string separator = ",") =>
        Encoding.UTF8.GetBytes($$"""{"model":"m","instructions":"be brief","input":[{{string.Join(separator, items)}}],"store":false}""");

    private static List<string> Raw(IReadOnlyList<JsonElement>? items) =>
        [.. (items ?? []).Select(i => Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(i)))];

    /// <summary>
    /// For any history, any items held from an earlier body, and any edit of the new body — an item changed in
    /// place, removed, inserted, the items reordered or spaced differently — reading against the held items gives
    /// exactly what the ordinary parse gives: the same items byte for byte and the same settings. A changed history is
    /// therefore never taken for the old one.
    /// </summary>
    [Fact]
    public void Reading_against_held_items_gives_what_the_ordinary_parse_gives_whatever_the_edit()
    {
        Gen.Select(Item.List[1, 60], Gen.Int[0, 5], Gen.Int[0, 1000], Gen.String[Gen.Char.AlphaNumeric, 1, 20]).Sample((history, edit, at, text) =>
        {
            var known = ResponseRequest.Parse(Body(history)).Input;
            var next = new List<string>(history);
            var i = at % next.Count;
            var separator = ",";
            switch (edit)
            {
                case 0: next.Add($$"""{"type":"message","role":"user","content":"{{text}}"}"""); break; // appended: the usual turn
                case 1: next[i] = next[i].Replace(":", ": ", StringComparison.Ordinal); break; // the same item, other bytes
                case 2: next.RemoveAt(i); break;
                case 3: next.Insert(i, $$"""{"type":"message","role":"user","content":"{{text}}"}"""); break;
                case 4: next.Reverse(); break;
                default: separator = " , "; break;
            }

            var body = Body(next, separator);
            var ordinary = ResponseRequest.Parse(body);
            var read = ResponseRequest.Parse(body, known);
            Assert.Equal(Raw(ordinary.Input), Raw(read.Input));
            Assert.Equal(ordinary.Settings().GetRawText(), read.Settings().GetRawText());
        }, iter: 500);
    }

    [Fact]
    public void A_long_history_resent_with_one_new_item_parses_only_the_new_item()
    {
        var history = Enumerable.Range(0, 400).Select(n => $$"""{"type":"message","role":"user","content":"item {{n}} with some text to make it the size of a real message in a conversation"}""").ToList();
        var known = ResponseRequest.Parse(Body(history)).Input;
        history.Add("""{"type":"message","role":"user","content":"the new one"}""");
        var body = Body(history);
        _ = ResponseRequest.Parse(body, known); // first use

        var before = GC.GetAllocatedBytesForCurrentThread();
        var fast = ResponseRequest.Parse(body, known);
        var reusing = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        var ordinary = ResponseRequest.Parse(body);
        var parsing = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Raw(ordinary.Input), Raw(fast.Input));
        Assert.True(reusing * 10 < parsing, $"reading against held items allocated {reusing} bytes, the ordinary parse {parsing}");
    }

    [Theory]
    [InlineData("""{"model":"m","input":"just a string"}""")]
    [InlineData("""{"model":"m"}""")]
    [InlineData("""{"model":"m","input":[1,2]}""")]
    [InlineData("""{"model":"m","input":[{"type":"message"}],"input":[]}""")]
    public void Bodies_it_does_not_read_this_way_go_through_the_ordinary_parse(string json)
    {
        var known = ResponseRequest.Parse("""{"model":"m","input":[{"type":"message","role":"user","content":"x"}]}"""u8).Input;
        var bytes = Encoding.UTF8.GetBytes(json);
        Exception? ordinaryError = null;
        ResponseRequest? ordinary = null;
        try
        {
            ordinary = ResponseRequest.Parse(bytes);
        }
        catch (ProtocolException e)
        {
            ordinaryError = e;
        }

        if (ordinaryError is not null)
        {
            var e = Assert.Throws<ProtocolException>(() => ResponseRequest.Parse(bytes, known));
            Assert.Equal(ordinaryError.Message, e.Message);
        }
        else
        {
            Assert.Equal(Raw(ordinary!.Input), Raw(ResponseRequest.Parse(bytes, known).Input));
        }
    }
}
