using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fantasy.Actors.Protocol.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// The Responses create body. Common fields are typed; every other field is kept in
/// <see cref="Extra"/> and written back unchanged. Input items are kept as the caller's JSON, so they
/// round-trip exactly in meaning. Two writers: <see cref="ToWebSocketFrame"/> and <see cref="ToHttpBody"/>.
/// </summary>
public sealed class ResponseRequest
{
    public string? Model { get; init; }
    public string? Instructions { get; init; }

    /// <summary>The input items. A string <c>input</c> is read as one user message.</summary>
    [JsonConverter(typeof(InputItemsConverter))]
    public IReadOnlyList<JsonElement> Input { get; init; } = [];

    public JsonElement? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public bool? ParallelToolCalls { get; init; }

    /// <summary><c>store</c>; the server's default is true.</summary>
    public bool? Store { get; init; }
    public JsonElement? Reasoning { get; init; }
    public JsonElement? Text { get; init; }
    public IReadOnlyList<string>? Include { get; init; }
    public int? MaxOutputTokens { get; init; }
    public JsonElement? Metadata { get; init; }
    public string? PromptCacheKey { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public string? Truncation { get; init; }
    public string? User { get; init; }

    /// <summary>The caller's own <c>previous_response_id</c>, if it chains explicitly.</summary>
    public string? PreviousResponseId { get; init; }

    /// <summary>Transport field; never forwarded as sent (the writers decide).</summary>
    public bool? Stream { get; init; }

    /// <summary>Transport field; kept and forwarded on HTTP, never on a WebSocket.</summary>
    public bool? Background { get; init; }

    /// <summary><c>generate:false</c> asks for a warm-up: no model output, a response id to chain from.</summary>
    public bool? Generate { get; init; }

    /// <summary>The lane on a multiplexing WebSocket server.</summary>
    public string? StreamId { get; init; }

    /// <summary>Every field not typed above, unchanged.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>True when the store flag is effectively on (absent means on).</summary>
    [JsonIgnore]
    public bool EffectiveStore => Store ?? true;

    /// <summary>True for a <c>generate:false</c> warm-up.</summary>
    [JsonIgnore]
    public bool IsWarmup => Generate == false;

    /// <summary>
    /// The whole request as JSON, every field as it is set (transport fields included), to carry it between
    /// processes; <see cref="Parse(ReadOnlySpan{byte})"/> reads it back.
    /// </summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ProtocolJsonContext.Default.ResponseRequest);

    /// <summary>Parses a create body (HTTP) or a <c>response.create</c> frame (its <c>type</c> is dropped).</summary>
    /// <exception cref="ProtocolException">Not JSON, not an object, or a field of the wrong type; the message names the field.</exception>
    public static ResponseRequest Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ProtocolException("the request body must be a JSON object", utf8);
            }

            var request = JsonSerializer.Deserialize(ref reader, ProtocolJsonContext.Default.ResponseRequest)!;
            if (reader.Read())
            {
                throw new ProtocolException("the request body must be one JSON object", utf8);
            }

            request.Extra?.Remove("type");
            return request;
        }
        catch (Exception ex) when (ProtocolException.IsParseFailure(ex))
        {
            throw ProtocolException.From(ex, utf8);
        }
    }

    /// <summary>
    /// Parses a create body whose input repeats items the caller already holds, as a caller resending its whole
    /// conversation does: an input item whose bytes equal those of the item at the same position in
    /// <paramref name="known"/> is that item (no new parse, no new document); only the others are parsed. The result
    /// equals <see cref="Parse(ReadOnlySpan{byte})"/>'s byte for byte — the same bytes are the same item — so a history
    /// that changed anywhere is seen as changed. The cost of a turn then grows with its new items, not its history.
    /// </summary>
    /// <exception cref="ProtocolException">As <see cref="Parse(ReadOnlySpan{byte})"/>.</exception>
    public static ResponseRequest Parse(ReadOnlySpan<byte> utf8, IReadOnlyList<JsonElement>? known) =>
        known is { Count: > 0 } ? KnownInput.Parse(utf8, known, sent: null, record: false) : Parse(utf8);

    /// <summary>
    /// Parses the next body of a conversation whose previous request was <paramref name="previous"/> (parsed by this
    /// method) and whose previous response's output items were <paramref name="previousOutput"/>, as a caller resending
    /// its whole history sends it: the previous input is recognised by the digest of its bytes (one 128-bit hash over them,
    /// no per-item work), the previous output item by item on their bytes, and only what is new is parsed. Anything
    /// that differs is read as <see cref="Parse(ReadOnlySpan{byte}, IReadOnlyList{JsonElement})"/> reads it; the
    /// result equals the ordinary parse's byte for byte. Pass nulls for a conversation's first body.
    /// </summary>
    /// <exception cref="ProtocolException">As <see cref="Parse(ReadOnlySpan{byte})"/>.</exception>
    public static ResponseRequest Parse(ReadOnlySpan<byte> utf8, ResponseRequest? previous, IReadOnlyList<JsonElement>? previousOutput)
    {
        IReadOnlyList<JsonElement> known = (previous?.Input, previousOutput) switch
        {
            ({ Count: > 0 } input, { Count: > 0 } output) => new KnownInput.Joined(input, output),
            ({ Count: > 0 } input, _) => input,
            (_, { } output) => output,
            _ => [],
        };
        var sent = previous?.Sent is { } s && previous.Input.Count == s.Count ? s : null;
        return KnownInput.Parse(utf8, known, sent, record: true);
    }

    /// <summary>The digest of this request's input as sent, when it was parsed to be read against by the next (<see cref="Parse(ReadOnlySpan{byte}, ResponseRequest?, IReadOnlyList{JsonElement}?)"/>).</summary>
    [JsonIgnore]
    internal SentInput? Sent { get; set; }

    /// <summary>
    /// How many leading input items are the held items this body was read against — the previous request's input, then
    /// the previous response's output — as the same values, without a gap (<see cref="Parse(ReadOnlySpan{byte}, ResponseRequest?, IReadOnlyList{JsonElement}?)"/>);
    /// 0 for an ordinary parse. A caller that keeps per-turn state can keep only the items after them.
    /// </summary>
    [JsonIgnore]
    public int HeldPrefix { get; internal set; }

    /// <summary>How many of this request's input items were recognised by the previous request's digest (not read).</summary>
    [JsonIgnore]
    internal int ItemsByDigest { get; set; }

    /// <summary>A copy with other input items.</summary>
    public ResponseRequest WithInput(IReadOnlyList<JsonElement> input) => Copy(input, PreviousResponseId);

    /// <summary>
    /// A copy that chains from nothing: <paramref name="input"/> is the whole conversation (the context of the response
    /// this request chained from, that response's output, then this request's input).
    /// </summary>
    public ResponseRequest Unchained(IReadOnlyList<JsonElement> input) => Copy(input, previousResponseId: null);

    private ResponseRequest Copy(IReadOnlyList<JsonElement> input, string? previousResponseId) => new()
    {
        Model = Model, Instructions = Instructions, Input = input, Tools = Tools, ToolChoice = ToolChoice,
        ParallelToolCalls = ParallelToolCalls, Store = Store, Reasoning = Reasoning, Text = Text, Include = Include,
        MaxOutputTokens = MaxOutputTokens, Metadata = Metadata, PromptCacheKey = PromptCacheKey,
        Temperature = Temperature, TopP = TopP, Truncation = Truncation, User = User,
        PreviousResponseId = previousResponseId, Stream = Stream, Background = Background, Generate = Generate,
        StreamId = StreamId, Extra = Extra,
    };

    /// <summary>
    /// The WebSocket <c>response.create</c> frame: this request laid flat with <c>type</c>, the given
    /// <paramref name="previousResponseId"/> (the request's own is not used) and <paramref name="input"/>,
    /// <c>generate:false</c> for a warm-up, and <c>stream_id</c> when a lane is named. No <c>stream</c> or <c>background</c>.
    /// </summary>
    public byte[] ToWebSocketFrame(string? previousResponseId, IReadOnlyList<JsonElement> input, bool generate = true, string? streamId = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var buffer = new ArrayBufferWriter<byte>(SizeHint);
        using (var w = new Utf8JsonWriter(buffer, WireJson))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, "response.create"u8);
            WriteSettings(w, includeBackground: false);
            if (previousResponseId is not null)
            {
                w.WriteString("previous_response_id"u8, previousResponseId);
            }

            WriteInput(w, input);
            if (!generate)
            {
                w.WriteBoolean("generate"u8, false);
            }

            if (streamId is not null)
            {
                w.WriteString("stream_id"u8, streamId);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The HTTP body for <c>POST /responses</c> with SSE: no <c>type</c>, <c>stream_id</c> or <c>generate</c>;
    /// <c>stream:true</c>. <paramref name="input"/> defaults to this request's input; a
    /// <paramref name="previousResponseId"/> is written only when given (a stored response).
    /// </summary>
    public byte[] ToHttpBody(string? previousResponseId = null, IReadOnlyList<JsonElement>? input = null, bool stream = true)
    {
        var buffer = new ArrayBufferWriter<byte>(SizeHint);
        using (var w = new Utf8JsonWriter(buffer, WireJson))
        {
            w.WriteStartObject();
            WriteSettings(w, includeBackground: true);
            if (previousResponseId is not null)
            {
                w.WriteString("previous_response_id"u8, previousResponseId);
            }

            WriteInput(w, input ?? Input);
            w.WriteBoolean("stream"u8, stream);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Every field that is not input and not transport, as one JSON object: two requests whose
    /// settings are <see cref="JsonElement.DeepEquals"/> are the same request but for their input.
    /// </summary>
    public JsonElement Settings() => settings ??= BuildSettings();

    /// <summary>Built once: the planner compares it and the chain keeps it, and a large <c>instructions</c> is not copied twice.</summary>
    private JsonElement? settings;

    /// <summary>
    /// A first buffer size for writing this request: its settings' strings dominate a large request, so the writer
    /// does not grow through a chain of doubling copies.
    /// </summary>
    private int SizeHint => 256 + (int)Math.Min(int.MaxValue / 2, ((long)(Instructions?.Length ?? 0) + (PromptCacheKey?.Length ?? 0)) * 9 / 8);

    private JsonElement BuildSettings()
    {
        var buffer = new ArrayBufferWriter<byte>(SizeHint);
        using (var w = new Utf8JsonWriter(buffer, WireJson))
        {
            w.WriteStartObject();
            WriteSettings(w, includeBackground: true);
            w.WriteEndObject();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>Escape only what JSON requires: the frames go to an API, never into HTML.</summary>
    private static readonly JsonWriterOptions WireJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private void WriteSettings(Utf8JsonWriter w, bool includeBackground)
    {
        WriteIf(w, "model"u8, Model);
        WriteIf(w, "instructions"u8, Instructions);
        WriteIf(w, "tools"u8, Tools);
        WriteIf(w, "tool_choice"u8, ToolChoice);
        if (ParallelToolCalls is { } ptc) w.WriteBoolean("parallel_tool_calls"u8, ptc);
        if (Store is { } store) w.WriteBoolean("store"u8, store);
        WriteIf(w, "reasoning"u8, Reasoning);
        WriteIf(w, "text"u8, Text);
        if (Include is not null)
        {
            w.WriteStartArray("include"u8);
            foreach (var s in Include)
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
        }

        if (MaxOutputTokens is { } mot) w.WriteNumber("max_output_tokens"u8, mot);
        WriteIf(w, "metadata"u8, Metadata);
        WriteIf(w, "prompt_cache_key"u8, PromptCacheKey);
        if (Temperature is { } t) w.WriteNumber("temperature"u8, t);
        if (TopP is { } tp) w.WriteNumber("top_p"u8, tp);
        WriteIf(w, "truncation"u8, Truncation);
        WriteIf(w, "user"u8, User);
        if (includeBackground && Background is { } bg) w.WriteBoolean("background"u8, bg);
        if (Extra is not null)
        {
            foreach (var (key, value) in Extra)
            {
                w.WritePropertyName(key);
                value.WriteTo(w);
            }
        }
    }

    private static void WriteInput(Utf8JsonWriter w, IReadOnlyList<JsonElement> input)
    {
        w.WriteStartArray("input"u8);
        for (var i = 0; i < input.Count; i++)
        {
            input[i].WriteTo(w);
        }

        w.WriteEndArray();
    }

    /// <summary>Strings longer than this are written in segments of this many chars.</summary>
    private const int StringSegment = 16 * 1024;

    private static void WriteIf(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length <= StringSegment)
        {
            w.WriteString(name, value);
            return;
        }

        // Written whole, the writer reserves three bytes per char of the value at once (a 15 MiB instructions
        // string would take a 45 MiB buffer for every frame); in segments it reserves that per segment only.
        w.WritePropertyName(name);
        for (var offset = 0; offset < value.Length; offset += StringSegment)
        {
            var length = Math.Min(StringSegment, value.Length - offset);
            w.WriteStringValueSegment(value.AsSpan(offset, length), isFinalSegment: offset + length == value.Length);
        }
    }

    private static void WriteIf(Utf8JsonWriter w, ReadOnlySpan<byte> name, JsonElement? value)
    {
        if (value is { } v && v.ValueKind != JsonValueKind.Undefined)
        {
            w.WritePropertyName(name);
            v.WriteTo(w);
        }
    }
}
