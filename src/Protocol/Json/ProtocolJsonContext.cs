using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fantasy.Actors.Protocol.Json;

/// <summary>
/// Source-generated metadata for every payload the protocol library reads or writes.
/// No reflection-based serialization is used anywhere in the library.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ResponseDto))]
[JsonSerializable(typeof(UsageDto))]
[JsonSerializable(typeof(ErrorBodyDto))]
[JsonSerializable(typeof(ResponseRequest))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;

/// <summary>The Response object as it travels inside response.* events and as the HTTP JSON body.</summary>
internal sealed class ResponseDto
{
    public string? Id { get; set; }
    public string? Object { get; set; }
    public long? CreatedAt { get; set; }
    public string? Status { get; set; }
    public string? Model { get; set; }
    public ResponseErrorDto? Error { get; set; }
    public IncompleteDetailsDto? IncompleteDetails { get; set; }
    public List<JsonElement>? Output { get; set; }
    public UsageDto? Usage { get; set; }
    public string? PreviousResponseId { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed class ResponseErrorDto
{
    public string? Code { get; set; }
    public string? Message { get; set; }
}

internal sealed class IncompleteDetailsDto
{
    public string? Reason { get; set; }
}

internal sealed class UsageDto
{
    public long InputTokens { get; set; }
    public InputTokensDetailsDto? InputTokensDetails { get; set; }
    public long OutputTokens { get; set; }
    public OutputTokensDetailsDto? OutputTokensDetails { get; set; }
    public long TotalTokens { get; set; }
}

internal sealed class InputTokensDetailsDto
{
    public long CachedTokens { get; set; }
    public long CacheWriteTokens { get; set; }
}

internal sealed class OutputTokensDetailsDto
{
    public long ReasoningTokens { get; set; }
}

/// <summary>The inner error object shared by all three error shapes.</summary>
internal sealed class ErrorBodyDto
{
    public string? Type { get; set; }
    public string? Code { get; set; }
    public string? Message { get; set; }
    public string? Param { get; set; }
}
