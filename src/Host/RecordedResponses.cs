using System.Buffers;
using System.Text.Json;
using Fantasy.Actors.Persistence;

namespace Fantasy.Actors.Host;

/// <summary>
/// A <c>store:false</c> response no gateway node keeps in memory (a restart, an eviction) read back from its session's
/// journal: its input items exactly as it answered them, and its Response object rebuilt from what the journal holds —
/// the request's settings and the output items. The journal does not hold the turn's token usage (<c>usage</c> is null)
/// nor the upstream's resolved model name (the requested one is given); <c>created_at</c> is when the turn was written.
/// </summary>
internal static class RecordedResponses
{
    /// <summary>The settings a Response object echoes from its request.</summary>
    private static readonly string[] Echoed =
    [
        "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model", "parallel_tool_calls", "prompt",
        "prompt_cache_key", "reasoning", "safety_identifier", "service_tier", "temperature", "text", "tool_choice",
        "tools", "top_logprobs", "top_p", "truncation", "user",
    ];

    /// <summary>Whether the recorded turn asked the upstream to store it (the API's default).</summary>
    public static bool Stored(RecordedResponse recorded) =>
        !(recorded.Settings.TryGetProperty("store", out var store) && store.ValueKind == JsonValueKind.False);

    public static ArchivedResponse ToResponse(RecordedResponse recorded) =>
        new(recorded.Id, recorded.Input, Stored(recorded)) { Json = Rebuild(recorded), Recorded = true };

    private static JsonElement Rebuild(RecordedResponse recorded)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, recorded.Id);
            w.WriteString("object"u8, "response"u8);
            w.WriteNumber("created_at"u8, recorded.RecordedAt.ToUnixTimeSeconds());
            w.WriteString("status"u8, "completed"u8);
            w.WriteBoolean("background"u8, false);
            w.WriteNull("error"u8);
            w.WriteNull("incomplete_details"u8);
            foreach (var name in Echoed)
            {
                if (recorded.Settings.TryGetProperty(name, out var value))
                {
                    w.WritePropertyName(name);
                    value.WriteTo(w);
                }
                else
                {
                    WriteDefault(w, name);
                }
            }

            w.WriteStartArray("output"u8);
            foreach (var item in recorded.Output)
            {
                item.WriteTo(w);
            }

            w.WriteEndArray();
            w.WriteNull("previous_response_id"u8);
            w.WriteBoolean("store"u8, Stored(recorded));
            w.WriteNull("usage"u8);
            w.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory).RootElement;
    }

    /// <summary>What the API answers for a setting the request left out (fields the SDKs expect are always present).</summary>
    private static void WriteDefault(Utf8JsonWriter w, string name)
    {
        switch (name)
        {
            case "metadata":
                w.WriteStartObject(name);
                w.WriteEndObject();
                break;
            case "tools":
                w.WriteStartArray(name);
                w.WriteEndArray();
                break;
            case "parallel_tool_calls":
                w.WriteBoolean(name, true);
                break;
            case "tool_choice":
                w.WriteString(name, "auto");
                break;
            case "text":
                w.WriteStartObject(name);
                w.WriteStartObject("format");
                w.WriteString("type", "text");
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            case "instructions" or "max_output_tokens" or "model" or "reasoning" or "temperature" or "top_p" or "truncation" or "user":
                w.WriteNull(name);
                break;
        }
    }
}
