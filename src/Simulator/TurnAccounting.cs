using System.Text.Json;

namespace Fantasy.Actors.Simulator;

/// <summary>A response's usage as the simulator counts it: <see cref="ScriptedModel.TokensPerItem"/> tokens an item.</summary>
/// <param name="Input">Tokens of the whole context (0 for a warm-up).</param>
/// <param name="Cached">Tokens of the items reused from the connection's cache.</param>
/// <param name="Output">Tokens of the output items.</param>
/// <param name="Reasoning">Tokens of the reasoning items among them.</param>
internal sealed record SimulatedUsage(int Input, int Cached, int Output, int Reasoning)
{
    public int Total => Input + Output;
}

/// <summary>
/// The simulator's accounting of a response, without I/O: its final status, its usage, and how its text is cut into
/// deltas. <see cref="ResponseRun"/> writes what this decides.
/// </summary>
internal static class TurnAccounting
{
    /// <summary>The Response's final status: a warm-up always completes; otherwise the model's outcome decides.</summary>
    public static string FinalStatus(ModelOutcome outcome, bool warmup) => warmup
        ? "completed"
        : outcome switch
        {
            ModelOutcome.Failed => "failed",
            ModelOutcome.Incomplete => "incomplete",
            _ => "completed",
        };

    /// <summary>The usage of a response over <paramref name="contextItems"/> input items (<paramref name="cachedItems"/> of them cached) and its output.</summary>
    public static SimulatedUsage Usage(int contextItems, int cachedItems, IReadOnlyList<JsonElement> output, bool warmup)
    {
        var reasoning = 0;
        foreach (var item in output)
        {
            if (ScriptedModel.TypeOf(item) == Fantasy.Actors.Protocol.ItemTypes.Reasoning)
            {
                reasoning += ScriptedModel.TokensPerItem;
            }
        }

        return new SimulatedUsage(
            warmup ? 0 : contextItems * ScriptedModel.TokensPerItem,
            warmup ? 0 : cachedItems * ScriptedModel.TokensPerItem,
            output.Count * ScriptedModel.TokensPerItem,
            reasoning);
    }

    /// <summary>Splits text into word-sized deltas ("ok: 5" → "ok:", " 5").</summary>
    public static List<string> Chunks(string text)
    {
        var chunks = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == ' ')
            {
                chunks.Add(text[start..i]);
                start = i;
            }
        }

        if (chunks.Count == 0)
        {
            chunks.Add(text);
        }

        return chunks;
    }
}
