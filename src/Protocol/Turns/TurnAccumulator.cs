using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// Folds one turn's events into a <see cref="TurnResult"/>. Terminal events: <c>response.completed</c>,
/// <c>response.incomplete</c>, <c>response.failed</c>, legacy <c>response.done</c> (by its status), and an
/// <c>error</c> that arrives before <c>response.created</c> (request-scoped). An <c>error</c> inside a
/// created response is recorded and the <c>response.failed</c> that follows ends the turn; if the stream
/// stops instead, the turn is Failed with that error. A stream that stops with no terminal is Interrupted.
/// Not thread-safe: one accumulator per turn.
/// </summary>
public sealed class TurnAccumulator
{
    private readonly StringBuilder text = new();
    private readonly StringBuilder refusal = new();
    private readonly StringBuilder reasoningText = new();
    private readonly List<(int Index, OutputItem Item)> items = [];
    private readonly List<Citation> sources = [];
    private readonly SortedDictionary<(int Output, int Summary), string> summaries = [];
    private readonly Dictionary<(int Output, int Summary), StringBuilder> summaryDeltas = [];
    private readonly List<string> doneTexts = [];

    private readonly bool foldDeltas;
    private ResponseSnapshot? lastResponse;
    private ResponseEvent? terminal;
    private UpstreamError? error;
    private bool refusalDone;

    /// <summary>True once the turn's terminal event arrived.</summary>
    public bool IsEnded { get; private set; }

    /// <summary>True once <c>response.created</c> (or any response event) arrived: the server started work.</summary>
    public bool ResponseStarted => lastResponse is not null;

    /// <summary>Events folded so far.</summary>
    public int EventCount { get; private set; }

    /// <summary>Events that arrived after the terminal and were ignored.</summary>
    public int IgnoredAfterEnd { get; private set; }

    /// <summary>The response id, once known.</summary>
    public string? ResponseId => lastResponse?.Id;

    /// <summary>A fold of one turn's events.</summary>
    /// <param name="foldDeltas">
    /// Fold the text, refusal and reasoning deltas as they come (default). Without, those texts come from the
    /// <c>.done</c> events and output items alone — a turn then holds no growing copy of its answer, and an
    /// interrupted turn has no partial text. For callers that pass the events on and do not read the texts.
    /// </param>
    public TurnAccumulator(bool foldDeltas = true) => this.foldDeltas = foldDeltas;

    public TurnProgress Apply(ServerEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (IsEnded)
        {
            IgnoredAfterEnd++;
            return TurnProgress.Ended;
        }

        EventCount++;
        if (!foldDeltas && e is OutputTextDelta or ReasoningSummaryTextDelta or ReasoningTextDelta or RefusalDelta)
        {
            return TurnProgress.Running;
        }

        switch (e)
        {
            case OutputTextDelta d:
                text.Append(d.Delta);
                break;
            case FunctionCallArgumentsDelta:
                // Arguments are taken whole from output_item.done.
                break;
            case ReasoningSummaryTextDelta d:
                AppendSummary(d.OutputIndex, d.SummaryIndex, d.Delta);
                break;
            case ReasoningSummaryTextDone d:
                summaries[(d.OutputIndex, d.SummaryIndex)] = d.Text;
                break;
            case ReasoningTextDelta d:
                reasoningText.Append(d.Delta);
                break;
            case RefusalDelta d:
                if (!refusalDone) refusal.Append(d.Delta);
                break;
            case RefusalDone d:
                refusal.Clear().Append(d.Refusal);
                refusalDone = true;
                break;
            case OutputTextDone d:
                doneTexts.Add(d.Text);
                break;
            case OutputTextAnnotationAdded a:
                sources.Add(a.Annotation);
                break;
            case OutputItemDone d:
                items.Add((d.OutputIndex, d.Item));
                break;
            case ErrorEvent err:
                error ??= err.Error;
                if (lastResponse is null)
                {
                    IsEnded = true;
                    return TurnProgress.Ended;
                }

                break;
            case ResponseEvent r:
                lastResponse = r.Response;
                if (r.IsResponseTerminal)
                {
                    terminal = r;
                    IsEnded = true;
                    return TurnProgress.Ended;
                }

                break;
        }

        return TurnProgress.Running;
    }

    /// <summary>
    /// The result so far. Before a terminal event this is an Interrupted turn (or a Failed one when an
    /// error event arrived): call it when the stream ends to learn how the turn ended.
    /// </summary>
    public TurnResult ToResult()
    {
        var output = BuildOutput();
        var calls = new List<FunctionCall>();
        foreach (var item in output)
        {
            if (item.IsFunctionCall)
            {
                calls.Add(new FunctionCall(item.CallId ?? string.Empty, item.Name ?? string.Empty, item.Arguments ?? string.Empty, item.Id));
            }
        }

        var (status, finish, turnError) = Conclude(calls.Count > 0);
        var response = terminal?.Response ?? lastResponse;
        return new TurnResult
        {
            ResponseId = response?.Id,
            Status = status,
            ResponseStatus = response?.Status,
            FinishReason = finish,
            IncompleteReason = terminal?.Response.IncompleteReason,
            Model = response?.Model,
            Output = output,
            Text = BuildText(output),
            FunctionCalls = calls,
            Sources = sources.Count > 0 ? sources.ToArray() : SourcesFrom(output),
            ReasoningSummary = BuildSummaries(output),
            ReasoningText = reasoningText.ToString(),
            Refusal = refusal.Length > 0 ? refusal.ToString() : RefusalFrom(output),
            Usage = terminal?.Response.Usage,
            Error = turnError,
            EventCount = EventCount,
        };
    }

    private (TurnStatus, FinishReason?, UpstreamError?) Conclude(bool hasCalls)
    {
        if (terminal is null)
        {
            return error is not null
                ? (TurnStatus.Failed, FinishReason.Error, error)
                : (TurnStatus.Interrupted, null, null);
        }

        var status = terminal switch
        {
            ResponseCompleted => "completed",
            ResponseIncomplete => "incomplete",
            ResponseFailed => "failed",
            _ => terminal.Response.Status ?? "completed",
        };

        return status switch
        {
            "completed" => (TurnStatus.Completed, hasCalls ? FinishReason.ToolCalls : FinishReason.Stop, null),
            "incomplete" => (TurnStatus.Incomplete, terminal.Response.IncompleteReason switch
            {
                "max_output_tokens" => FinishReason.Length,
                "content_filter" => FinishReason.ContentFilter,
                _ => FinishReason.Other,
            }, null),
            "cancelled" => (TurnStatus.Cancelled, null, null),
            _ => (TurnStatus.Failed, FinishReason.Error, error ?? UpstreamError.FromFailedResponse(terminal.Response)),
        };
    }

    private IReadOnlyList<OutputItem> BuildOutput()
    {
        if (items.Count == 0)
        {
            return terminal?.Response.Output ?? [];
        }

        // Stable sort by output index: items normally arrive in order already.
        var sorted = items.ToArray();
        Array.Sort(sorted, static (a, b) => a.Index.CompareTo(b.Index));
        var result = new OutputItem[sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
        {
            result[i] = sorted[i].Item;
        }

        return result;
    }

    private string BuildText(IReadOnlyList<OutputItem> output)
    {
        if (text.Length > 0)
        {
            return text.ToString();
        }

        if (doneTexts.Count > 0)
        {
            return string.Concat(doneTexts);
        }

        var sb = new StringBuilder();
        foreach (var item in output)
        {
            sb.Append(item.MessageText());
        }

        return sb.ToString();
    }

    private void AppendSummary(int output, int summary, string delta)
    {
        if (!summaryDeltas.TryGetValue((output, summary), out var sb))
        {
            summaryDeltas[(output, summary)] = sb = new StringBuilder();
        }

        sb.Append(delta);
    }

    private string[] BuildSummaries(IReadOnlyList<OutputItem> output)
    {
        foreach (var (key, sb) in summaryDeltas)
        {
            summaries.TryAdd(key, sb.ToString());
        }

        if (summaries.Count > 0)
        {
            return summaries.Values.ToArray();
        }

        var fromItems = new List<string>();
        foreach (var item in output)
        {
            fromItems.AddRange(item.ReasoningSummary());
        }

        return fromItems.ToArray();
    }

    private static Citation[] SourcesFrom(IReadOnlyList<OutputItem> output)
    {
        var found = new List<Citation>();
        foreach (var part in MessageParts(output))
        {
            if (part.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Array)
            {
                foreach (var a in annotations.EnumerateArray())
                {
                    found.Add(Citation.From(a));
                }
            }
        }

        return found.ToArray();
    }

    private static string? RefusalFrom(IReadOnlyList<OutputItem> output)
    {
        foreach (var part in MessageParts(output))
        {
            if (OutputItem.GetString(part, "type") == "refusal" && OutputItem.GetString(part, "refusal") is { } r)
            {
                return r;
            }
        }

        return null;
    }

    private static IEnumerable<JsonElement> MessageParts(IReadOnlyList<OutputItem> output)
    {
        foreach (var item in output)
        {
            if (item.Type == ItemTypes.Message && item.Json.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object)
                    {
                        yield return part;
                    }
                }
            }
        }
    }
}
