using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Fantasy.Actors.Simulator;

/// <summary>One output item the scripted model decided to produce.</summary>
internal abstract record PlannedItem
{
    public sealed record Reasoning(IReadOnlyList<string> Summary) : PlannedItem;

    public sealed record Message(string Text, bool Cite) : PlannedItem;

    public sealed record Refusal(string Text) : PlannedItem;

    public sealed record Call(string Name, string Arguments) : PlannedItem;
}

internal enum ModelOutcome
{
    Completed,
    Incomplete,
    Failed,
}

/// <summary>What the model does for one request.</summary>
internal sealed record ModelTurn(IReadOnlyList<PlannedItem> Items, ModelOutcome Outcome, string? FailCode);

/// <summary>
/// The deterministic model. With N the number of items in the full server-side context:
/// a last user message containing <c>CALL &lt;tool&gt; &lt;n&gt;</c> gives n function calls; a last
/// <c>function_call_output</c> gives "tool results received: k. ok: N" (k trailing tool results);
/// anything else gives "ok: N". Keywords in the last user message add behaviour:
/// <c>REASON</c> (a reasoning item with two summary parts first), <c>CITE</c> (a url citation),
/// <c>REFUSE</c> (a refusal instead of text), <c>TRUNCATE</c> (response.incomplete, max_output_tokens),
/// <c>FAIL</c> (response.failed, server_error), <c>LONG &lt;kib&gt;</c> (the text is preceded by about that many KiB of
/// padding, streamed in 16 KiB deltas). A <c>max_output_tokens</c> below the output's
/// tokens (10 per item) also gives response.incomplete.
/// </summary>
internal static partial class ScriptedModel
{
    public const int TokensPerItem = 10;

    [GeneratedRegex(@"\bCALL\s+([A-Za-z0-9_.\-]+)\s+(\d{1,4})\b", RegexOptions.CultureInvariant)]
    private static partial Regex CallPattern();

    [GeneratedRegex(@"\bLONG\s+(\d{1,6})\b", RegexOptions.CultureInvariant)]
    private static partial Regex LongPattern();

    /// <summary>One padding word of a <c>LONG</c> answer: each becomes one delta.</summary>
    private static readonly string PaddingBlock = new('x', 16 * 1024 - 1);

    public static ModelTurn Decide(IReadOnlyList<JsonElement> newInput, int contextItems, int? maxOutputTokens)
    {
        var last = newInput.Count > 0 ? newInput[^1] : default;
        var userText = last.ValueKind == JsonValueKind.Object && IsUserMessage(last) ? TextOf(last) : null;
        var items = new List<PlannedItem>();
        var outcome = ModelOutcome.Completed;
        string? failCode = null;

        if (userText is not null && userText.Contains("REASON", StringComparison.Ordinal))
        {
            items.Add(new PlannedItem.Reasoning([
                "**Reading the conversation**\n\nThe user wants an answer.",
                $"**Counting**\n\nThe context has {contextItems.ToString(CultureInfo.InvariantCulture)} items.",
            ]));
        }

        var call = userText is null ? null : CallPattern().Match(userText);
        if (call is { Success: true } && int.Parse(call.Groups[2].ValueSpan, CultureInfo.InvariantCulture) > 0)
        {
            var n = int.Parse(call.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
            for (var i = 0; i < n; i++)
            {
                items.Add(new PlannedItem.Call(call.Groups[1].Value,
                    string.Create(CultureInfo.InvariantCulture, $$"""{"index":{{i}},"of":{{n}}}""")));
            }
        }
        else if (userText is not null && userText.Contains("REFUSE", StringComparison.Ordinal))
        {
            items.Add(new PlannedItem.Refusal("I\u2019m sorry, but I can\u2019t help with that."));
        }
        else
        {
            var ok = string.Create(CultureInfo.InvariantCulture, $"ok: {contextItems}");
            var text = TypeOf(last) == "function_call_output"
                ? string.Create(CultureInfo.InvariantCulture, $"tool results received: {TrailingToolResults(newInput)}. {ok}")
                : ok;
            if (userText is not null && LongPattern().Match(userText) is { Success: true } pad)
            {
                var blocks = (int.Parse(pad.Groups[1].ValueSpan, CultureInfo.InvariantCulture) + 15) / 16;
                text = string.Join(' ', Enumerable.Repeat(PaddingBlock, blocks)) + " " + text;
            }

            items.Add(new PlannedItem.Message(text, userText is not null && userText.Contains("CITE", StringComparison.Ordinal)));
        }

        if (userText is not null && userText.Contains("FAIL", StringComparison.Ordinal))
        {
            outcome = ModelOutcome.Failed;
            failCode = "server_error";
        }
        else if ((userText is not null && userText.Contains("TRUNCATE", StringComparison.Ordinal))
                 || (maxOutputTokens is { } max && max < items.Count * TokensPerItem))
        {
            outcome = ModelOutcome.Incomplete;
        }

        return new ModelTurn(items, outcome, failCode);
    }

    private static int TrailingToolResults(IReadOnlyList<JsonElement> input)
    {
        var k = 0;
        for (var i = input.Count - 1; i >= 0 && TypeOf(input[i]) == "function_call_output"; i--)
        {
            k++;
        }

        return k;
    }

    internal static string? TypeOf(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (item.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String)
        {
            return t.GetString();
        }

        return item.TryGetProperty("role", out _) ? "message" : null;
    }

    private static bool IsUserMessage(JsonElement item) =>
        TypeOf(item) == "message" && item.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() == "user";

    private static string TextOf(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return string.Empty;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() ?? string.Empty;
        }

        var text = string.Empty;
        if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in content.EnumerateArray())
            {
                if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                {
                    text += t.GetString();
                }
            }
        }

        return text;
    }
}
