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
[JsonSerializable(typeof(UsageDto))]
[JsonSerializable(typeof(ResponseRequest))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;

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
