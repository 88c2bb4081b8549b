using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// What a conversation's chain looks like after its last turn on one connection: the request's
/// settings, its FULL input (the whole conversation as the server saw it), the response's output
/// items and id, and the connection epoch it lives on.
/// </summary>
public sealed record ChainState(
    long Epoch,
    string ResponseId,
    JsonElement Settings,
    IReadOnlyList<JsonElement> FullInput,
    IReadOnlyList<OutputItem> Output,
    bool Completed)
{
    /// <summary>The chain after a turn: <paramref name="fullInput"/> is the whole conversation sent, not the delta.</summary>
    public static ChainState After(long epoch, ResponseRequest request, IReadOnlyList<JsonElement> fullInput, TurnResult result)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(result);
        return new ChainState(
            epoch,
            result.ResponseId ?? string.Empty,
            request.Settings(),
            fullInput,
            result.Output,
            result.Status == TurnStatus.Completed && result.ResponseId is { Length: > 0 });
    }
}
