using Fantasy.Actors.Protocol.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>Token usage reported on a terminal event. Missing detail fields (older streams) read as 0.</summary>
public sealed record Usage(
    long InputTokens,
    long CachedTokens,
    long CacheWriteTokens,
    long OutputTokens,
    long ReasoningTokens,
    long TotalTokens)
{
    public static readonly Usage Zero = new(0, 0, 0, 0, 0, 0);

    internal static Usage? From(UsageDto? dto) => dto is null
        ? null
        : new Usage(
            dto.InputTokens,
            dto.InputTokensDetails?.CachedTokens ?? 0,
            dto.InputTokensDetails?.CacheWriteTokens ?? 0,
            dto.OutputTokens,
            dto.OutputTokensDetails?.ReasoningTokens ?? 0,
            dto.TotalTokens);
}
