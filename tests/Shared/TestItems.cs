using System.Text.Json;
using System.Text.Json.Serialization;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Testing;

/// <summary>Request and item builders shared by the test projects (linked into each).</summary>
internal static class Build
{
    public static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static JsonElement User(string text) =>
        J($$"""{"type":"message","role":"user","content":{{JsonSerializer.Serialize(text, TestJson.Default.String)}}}""");

    public static JsonElement ToolResult(string callId, string output = "42") =>
        J($$"""{"type":"function_call_output","call_id":"{{callId}}","output":"{{output}}"}""");

    public static ResponseRequest Request(IReadOnlyList<JsonElement> input, bool? store = null, int? maxOutputTokens = null) =>
        new() { Model = "sim-model", Instructions = "be brief", Input = input, Store = store, MaxOutputTokens = maxOutputTokens };

    public static ResponseRequest Request(params JsonElement[] input) => Request((IReadOnlyList<JsonElement>)input);

    /// <summary>A <c>response.create</c> frame with the request's full input and no previous id.</summary>
    public static byte[] Frame(params JsonElement[] input) => Request(input).ToWebSocketFrame(null, input);
}

[JsonSerializable(typeof(string))]
internal sealed partial class TestJson : JsonSerializerContext;
