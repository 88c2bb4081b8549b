using System.Runtime.InteropServices;
using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// The input array of a create body read against items already held: each item's bytes are found with a reader that
/// skips over them (no allocation), compared with the held item's bytes at the same position, and only an item that
/// differs (or is new) is parsed into a document of its own.
/// </summary>
internal static class KnownInput
{
    /// <summary>The body's input items, the held ones reused; null when the body has no input array of objects to read this way.</summary>
    public static IReadOnlyList<JsonElement>? Read(ReadOnlySpan<byte> utf8, IReadOnlyList<JsonElement> known)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            IReadOnlyList<JsonElement>? input = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isInput = reader.ValueTextEquals("input"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (!isInput)
                {
                    reader.Skip();
                    continue;
                }

                if (input is not null || reader.TokenType != JsonTokenType.StartArray)
                {
                    return null; // a repeated or non-array input: the ordinary parse says what it is
                }

                input = Items(utf8, ref reader, known);
                if (input is null)
                {
                    return null;
                }
            }

            return input;
        }
        catch (JsonException)
        {
            return null; // malformed: the ordinary parse reports it
        }
    }

    private static List<JsonElement>? Items(ReadOnlySpan<byte> utf8, ref Utf8JsonReader reader, IReadOnlyList<JsonElement> known)
    {
        var items = new List<JsonElement>(known.Count + 4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var bytes = utf8[start..(int)reader.BytesConsumed];
            var i = items.Count;
            if (i < known.Count && bytes.SequenceEqual(JsonMarshal.GetRawUtf8Value(known[i])))
            {
                items.Add(known[i]);
            }
            else
            {
                var item = new Utf8JsonReader(bytes);
                items.Add(JsonElement.ParseValue(ref item));
            }
        }

        return items;
    }
}
