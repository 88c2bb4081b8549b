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
    /// place (one character, same length, anywhere in it), removed, inserted, the items reordered or spaced
    /// differently, the body laid out over lines, a second input after the first, a trailing comma — reading against
    /// the held items gives exactly what the ordinary parse gives: the same items byte for byte and the same settings,
    /// or the same error. A changed history is therefore never taken for the old one.
    /// </summary>
    [Fact]
    public void Reading_against_held_items_gives_what_the_ordinary_parse_gives_whatever_the_edit()
    {
        Gen.Select(Item.List[1, 60], Gen.Int[0, 9], Gen.Int[0, 1000], Gen.String[Gen.Char.AlphaNumeric, 1, 20]).Sample((history, edit, at, text) =>
        {
            var known = ResponseRequest.Parse(Body(history)).Input;
            var next = new List<string>(history);
            var i = at % next.Count;
            var separator = ",";
            string? body = null;
            switch (edit)
            {
                case 0: next.Add($$"""{"type":"message","role":"user","content":"{{text}}"}"""); break; // appended: the usual turn
                case 1: next[i] = next[i].Replace(":", ": ", StringComparison.Ordinal); break; // the same item, other bytes
                case 2: next.RemoveAt(i); break;
                case 3: next.Insert(i, $$"""{"type":"message","role":"user","content":"{{text}}"}"""); break;
                case 4: next.Reverse(); break;
                case 5: separator = " , "; break;
                case 6: next[i] = OneCharacterChanged(next[i], at); break;
                case 7:
                    next.Add($$"""{"type":"message","role":"user","content":"{{text}}"}""");
                    body = "\n{ \"model\" : \"m\",\n  \"input\" : [\n    " + string.Join(",\n    ", next) + "\n  ],\n  \"store\": false }";
                    break;
                case 8:
                    body = $$"""{"model":"m","input":[{{string.Join(",", next)}}],"store":false,"input":[{{string.Join(",", next.Take(i + 1))}}]}""";
                    break;
                default:
                    body = $$"""{"model":"m","input":[{{string.Join(",", next)}},],"store":false}""";
                    break;
            }

            AssertSameAsOrdinary(body is null ? Body(next, separator) : Encoding.UTF8.GetBytes(body), known);
        }, iter: 1000);
    }

    /// <summary>
    /// The same for a body read against the previous request (its input known by digest) and its response's output:
    /// for any split of the history into what was sent and what came back, and any edit of the resent history —
    /// one character changed anywhere, spacing between the sent items, an item removed or inserted — the result is the
    /// ordinary parse's, and a third body read against the second still recognises the history.
    /// </summary>
    [Fact]
    public void Reading_against_the_previous_request_gives_what_the_ordinary_parse_gives_whatever_the_edit()
    {
        Gen.Select(Item.List[1, 60], Gen.Int[0, 1000], Gen.Int[0, 5], Gen.Int[0, 1000]).Sample((history, split, edit, at) =>
        {
            var sentCount = 1 + (split % history.Count);
            var previous = ResponseRequest.Parse(Body(history.Take(sentCount)), previous: null, previousOutput: null);
            Assert.NotNull(previous.Sent);
            var output = ResponseRequest.Parse(Body(history.Skip(sentCount))).Input;
            var next = new List<string>(history) { """{"type":"message","role":"user","content":"next"}""" };
            var i = at % next.Count;
            var separator = ",";
            switch (edit)
            {
                case 0: break; // the usual turn
                case 1: next[i] = OneCharacterChanged(next[i], at); break;
                case 2: next.RemoveAt(i); break;
                case 3: next.Insert(i, """{"type":"message","role":"user","content":"inserted"}"""); break;
                case 4: separator = ", "; break;
                default: next[i] = next[i].Replace(":", ": ", StringComparison.Ordinal); break;
            }

            var body = Body(next, separator);
            var ordinary = ResponseRequest.Parse(body);
            var read = ResponseRequest.Parse(body, previous, output);
            Assert.Equal(Raw(ordinary.Input), Raw(read.Input));
            Assert.Equal(ordinary.Settings().GetRawText(), read.Settings().GetRawText());

            // The turn after: the body read against this one.
            next.Add("""{"type":"message","role":"user","content":"after"}""");
            var third = Body(next, separator);
            Assert.Equal(Raw(ResponseRequest.Parse(third).Input), Raw(ResponseRequest.Parse(third, read, []).Input));
        }, iter: 1000);
    }

    [Fact]
    public void A_long_history_resent_after_the_previous_request_is_recognised_by_its_digest_without_reading_it()
    {
        var history = Enumerable.Range(0, 400).Select(n => $$"""{"type":"message","role":"user","content":"item {{n}} with some text to make it the size of a real message in a conversation"}""").ToList();
        var previous = ResponseRequest.Parse(Body(history), previous: null, previousOutput: null);
        var output = ResponseRequest.Parse("""{"input":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]}]}"""u8).Input;
        history.Add("""{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]}""");
        history.Add("""{"type":"message","role":"user","content":"the new one"}""");
        var body = Body(history);
        _ = ResponseRequest.Parse(body, previous, output); // first use

        var before = GC.GetAllocatedBytesForCurrentThread();
        var fast = ResponseRequest.Parse(body, previous, output);
        var reusing = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        var perItem = ResponseRequest.Parse(body, [.. previous.Input, .. output]);
        var comparing = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Raw(ResponseRequest.Parse(body).Input), Raw(fast.Input));
        Assert.Equal(400, fast.ItemsByDigest);
        Assert.Equal(402, fast.Sent!.Count);
        Assert.Equal(402, ResponseRequest.Parse(Body([.. history, """{"type":"message","role":"user","content":"after"}"""]), fast, []).ItemsByDigest);
        var items = 402 * 16;
        Assert.True(reusing < 2 * items + 2048, $"reading against the previous request allocated {reusing} bytes, more than its item list (per-item comparing: {comparing})");
    }

    /// <summary>The item with one letter or digit of its last string value replaced by another (same length).</summary>
    private static string OneCharacterChanged(string item, int at)
    {
        var value = item.LastIndexOf(":\"", StringComparison.Ordinal) + 2;
        var end = item.LastIndexOf('"');
        var candidates = Enumerable.Range(value, Math.Max(0, end - value)).Where(p => char.IsAsciiLetterOrDigit(item[p])).ToList();
        if (candidates.Count == 0)
        {
            return item;
        }

        var position = candidates[at % candidates.Count];

        var replacement = item[position] == 'x' ? 'y' : 'x';
        return string.Concat(item.AsSpan(0, position), replacement.ToString(), item.AsSpan(position + 1));
    }

    private static void AssertSameAsOrdinary(byte[] body, IReadOnlyList<JsonElement> known)
    {
        ResponseRequest ordinary;
        try
        {
            ordinary = ResponseRequest.Parse(body);
        }
        catch (ProtocolException e)
        {
            Assert.Equal(e.Message, Assert.Throws<ProtocolException>(() => ResponseRequest.Parse(body, known)).Message);
            return;
        }

        var read = ResponseRequest.Parse(body, known);
        Assert.Equal(Raw(ordinary.Input), Raw(read.Input));
        Assert.Equal(ordinary.Settings().GetRawText(), read.Settings().GetRawText());
        Assert.Equal(ordinary.Extra?.Count, read.Extra?.Count);
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
