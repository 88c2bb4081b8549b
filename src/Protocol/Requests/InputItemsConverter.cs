using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fantasy.Actors.Protocol;

/// <summary>Reads <c>input</c> as an array of item objects, or a string as one user message.</summary>
internal sealed class InputItemsConverter : JsonConverter<IReadOnlyList<JsonElement>>
{
    /// <summary>This thread's input already read from the body being parsed (<see cref="KnownInput"/>): the array in its place is skipped.</summary>
    [ThreadStatic]
    internal static IReadOnlyList<JsonElement>? Prepared;

    public override IReadOnlyList<JsonElement> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (Prepared is { } prepared && reader.TokenType == JsonTokenType.StartArray)
        {
            Prepared = null; // once: a repeated input is parsed (and wins) as in the ordinary parse
            reader.Skip();
            return prepared;
        }

        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return [];
            case JsonTokenType.String:
                return [UserMessage(reader.GetString()!)];
            case JsonTokenType.StartArray:
                var items = new List<JsonElement>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        throw new JsonException($"input[{items.Count}] must be an object");
                    }

                    items.Add(JsonElement.ParseValue(ref reader));
                }

                return items;
            default:
                throw new JsonException("input must be a string or an array of items");
        }
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<JsonElement> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var item in value)
        {
            item.WriteTo(writer);
        }

        writer.WriteEndArray();
    }

    internal static JsonElement UserMessage(string text)
    {
        var buffer = new ArrayBufferWriter<byte>(text.Length + 64);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, "message"u8);
            w.WriteString("role"u8, "user"u8);
            w.WriteString("content"u8, text);
            w.WriteEndObject();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }
}
