using System.Text.Json;
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

/// <summary>The <c>error</c> object of a failed Response.</summary>
public sealed record ResponseError(string? Code, string Message);

/// <summary>
/// A Response object as carried by <c>response.created</c>, <c>response.completed</c> and the other
/// response-level events (and by a non-streaming HTTP reply). Fields the client acts on are typed;
/// every other field is kept in <see cref="Extra"/> so the object can be written back faithfully.
/// </summary>
public sealed class ResponseSnapshot
{
    private static readonly IReadOnlyDictionary<string, JsonElement> NoExtra = new Dictionary<string, JsonElement>();

    private ResponseSnapshot(ResponseDto dto)
    {
        Id = dto.Id ?? string.Empty;
        CreatedAt = dto.CreatedAt;
        Status = dto.Status;
        Model = dto.Model;
        Error = dto.Error is null ? null : new ResponseError(dto.Error.Code, dto.Error.Message ?? string.Empty);
        IncompleteReason = dto.IncompleteDetails?.Reason;
        PreviousResponseId = dto.PreviousResponseId;
        Usage = Usage.From(dto.Usage);
        if (dto.Output is { Count: > 0 } output)
        {
            var items = new OutputItem[output.Count];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = new OutputItem(output[i]);
            }

            Output = items;
        }
        else
        {
            Output = [];
        }

        Extra = dto.Extra ?? NoExtra;
    }

    public string Id { get; }
    public long? CreatedAt { get; }

    /// <summary><c>completed | failed | in_progress | cancelled | queued | incomplete</c>.</summary>
    public string? Status { get; }
    public string? Model { get; }
    public ResponseError? Error { get; }

    /// <summary><c>incomplete_details.reason</c>: <c>max_output_tokens</c>, <c>content_filter</c>, …</summary>
    public string? IncompleteReason { get; }
    public string? PreviousResponseId { get; }
    public Usage? Usage { get; }

    /// <summary>The response's output as sent on this event; some backends send it empty on completion.</summary>
    public IReadOnlyList<OutputItem> Output { get; }

    /// <summary>Every other field of the Response object, unchanged.</summary>
    public IReadOnlyDictionary<string, JsonElement> Extra { get; }

    internal static ResponseSnapshot Read(ref Utf8JsonReader reader)
    {
        var dto = JsonSerializer.Deserialize(ref reader, ProtocolJsonContext.Default.ResponseDto)
                  ?? throw new JsonException("response is null");
        return new ResponseSnapshot(dto);
    }

    /// <summary>Parses a non-streaming HTTP reply body (one Response object).</summary>
    public static ResponseSnapshot Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ProtocolException("a Response must be a JSON object", utf8);
            }

            return Read(ref reader);
        }
        catch (Exception ex) when (ProtocolException.IsParseFailure(ex))
        {
            throw ProtocolException.From(ex, utf8);
        }
    }
}
