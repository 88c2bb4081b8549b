using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Fantasy.Actors.Simulator;

/// <summary>
/// How the simulator writes JSON on the wire: the service's escaping, and the output items and content parts it
/// puts in events and Response objects (messages, function calls, text/refusal/summary parts, locations).
/// </summary>
internal static class WireWriter
{
    /// <summary>An assistant message item with the given content parts.</summary>
    internal static void WriteMessage(Utf8JsonWriter w, string id, string status, Action<Utf8JsonWriter> content)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("type"u8, "message"u8);
        w.WriteString("status"u8, status);
        w.WriteStartArray("content"u8);
        content(w);
        w.WriteEndArray();
        w.WriteString("role"u8, "assistant"u8);
        w.WriteEndObject();
    }

    internal static void WriteCall(Utf8JsonWriter w, string id, string callId, string name, string arguments, string status)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("type"u8, "function_call"u8);
        w.WriteString("status"u8, status);
        w.WriteString("arguments"u8, arguments);
        w.WriteString("call_id"u8, callId);
        w.WriteString("name"u8, name);
        w.WriteEndObject();
    }

    internal static void WriteTextPart(Utf8JsonWriter w, string text, (int Start, int End)? annotation)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "output_text"u8);
        w.WriteStartArray("annotations"u8);
        if (annotation is { } a)
        {
            WriteAnnotation(w, a);
        }

        w.WriteEndArray();
        w.WriteStartArray("logprobs"u8);
        w.WriteEndArray();
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    internal static void WriteAnnotation(Utf8JsonWriter w, (int Start, int End) a)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "url_citation"u8);
        w.WriteNumber("end_index"u8, a.End);
        w.WriteNumber("start_index"u8, a.Start);
        w.WriteString("title"u8, "Example Domain"u8);
        w.WriteString("url"u8, "https://example.com/"u8);
        w.WriteEndObject();
    }

    internal static void WriteRefusalPart(Utf8JsonWriter w, string refusal)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "refusal"u8);
        w.WriteString("refusal"u8, refusal);
        w.WriteEndObject();
    }

    internal static void WriteSummaryPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "summary_text"u8);
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    internal static void Location(Utf8JsonWriter w, string itemId, int outputIndex, int contentIndex)
    {
        w.WriteNumber("content_index"u8, contentIndex);
        w.WriteString("item_id"u8, itemId);
        w.WriteNumber("output_index"u8, outputIndex);
    }

    internal static void SummaryLocation(Utf8JsonWriter w, string itemId, int outputIndex, int summaryIndex)
    {
        w.WriteString("item_id"u8, itemId);
        w.WriteNumber("output_index"u8, outputIndex);
        w.WriteNumber("summary_index"u8, summaryIndex);
    }

    internal static void WriteEcho(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    internal static void WriteElement(Utf8JsonWriter w, ReadOnlySpan<byte> name, JsonElement? value)
    {
        if (value is { } v)
        {
            w.WritePropertyName(name);
            v.WriteTo(w);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>Escapes only what JSON requires (quotes as \", non-ASCII kept), as the real service writes.</summary>
    internal static readonly JsonWriterOptions WireJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static byte[] Write(Action<Utf8JsonWriter> write, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WireJson with { Indented = indented }))
        {
            write(w);
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static JsonElement Element(Action<Utf8JsonWriter> write)
    {
        var reader = new Utf8JsonReader(Write(write));
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>The request's settings a Response echoes, from <c>store</c> to <c>truncation</c>, with the service's defaults.</summary>
    internal static void WriteRequestSettings(Utf8JsonWriter w, Fantasy.Actors.Protocol.ResponseRequest request)
    {
        w.WriteBoolean("store"u8, request.EffectiveStore);
        if (request.Temperature is { } t) w.WriteNumber("temperature"u8, t);
        else w.WriteNumber("temperature"u8, 1.0);
        WriteElement(w, "text"u8, request.Text);
        if (request.ToolChoice is { } tc) { w.WritePropertyName("tool_choice"u8); tc.WriteTo(w); }
        else w.WriteString("tool_choice"u8, "auto"u8);
        if (request.Tools is { } tools) { w.WritePropertyName("tools"u8); tools.WriteTo(w); }
        else { w.WriteStartArray("tools"u8); w.WriteEndArray(); }
        if (request.TopP is { } tp) w.WriteNumber("top_p"u8, tp);
        else w.WriteNumber("top_p"u8, 1.0);
        w.WriteString("truncation"u8, request.Truncation ?? "disabled");
    }

    internal static void WriteUsage(Utf8JsonWriter w, SimulatedUsage usage)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("input_tokens"u8, usage.Input);
        w.WriteStartObject("input_tokens_details"u8);
        w.WriteNumber("cached_tokens"u8, usage.Cached);
        w.WriteNumber("cache_write_tokens"u8, 0);
        w.WriteEndObject();
        w.WriteNumber("output_tokens"u8, usage.Output);
        w.WriteStartObject("output_tokens_details"u8);
        w.WriteNumber("reasoning_tokens"u8, usage.Reasoning);
        w.WriteEndObject();
        w.WriteNumber("total_tokens"u8, usage.Total);
        w.WriteEndObject();
    }

    /// <summary>A Response's <c>error</c> (a failed response's code) and <c>incomplete_details</c> (why it is incomplete), or nulls.</summary>
    internal static void WriteOutcomeDetails(Utf8JsonWriter w, string? errorCode, bool incomplete)
    {
        if (errorCode is not null)
        {
            w.WriteStartObject("error"u8);
            w.WriteString("code"u8, errorCode);
            w.WriteString("message"u8, "The model failed to generate a response."u8);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("error"u8);
        }

        if (incomplete)
        {
            w.WriteStartObject("incomplete_details"u8);
            w.WriteString("reason"u8, "max_output_tokens"u8);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("incomplete_details"u8);
        }
    }
}
