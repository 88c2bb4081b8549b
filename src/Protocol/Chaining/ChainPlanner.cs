using System.Runtime.InteropServices;
using System.Text.Json;
using Fantasy.Actors.Protocol.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// Decides whether a turn can continue the chain with only its new items (protocol.md §3 and §6):
/// only on the same connection epoch, after a completed response, with every non-input field
/// unchanged, and when the new full input starts with the previous full input followed by the
/// previous response's output items — a verified prefix, never an index count.
/// </summary>
public static class ChainPlanner
{
    /// <param name="state">The chain after the last turn, or null when there is none.</param>
    /// <param name="request">The new request with the caller's FULL input.</param>
    /// <param name="epoch">The epoch of the connection the turn will go out on.</param>
    /// <param name="resetChain">Force a fresh start (wins over an explicit id).</param>
    /// <param name="explicitPreviousResponseId">
    /// A caller that chains itself: its input is already the delta, and its id wins. Defaults to the
    /// request's own <c>previous_response_id</c>.
    /// </param>
    public static ChainPlan Plan(
        ChainState? state,
        ResponseRequest request,
        long epoch,
        bool resetChain = false,
        string? explicitPreviousResponseId = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var input = request.Input;
        if (resetChain)
        {
            return new ChainPlan.Fresh(input, FreshReason.ResetRequested);
        }

        if ((explicitPreviousResponseId ?? request.PreviousResponseId) is { Length: > 0 } explicitId)
        {
            return new ChainPlan.Continue(explicitId, input);
        }

        if (state is null)
        {
            return new ChainPlan.Fresh(input, FreshReason.NoChain);
        }

        if (state.Epoch != epoch)
        {
            return new ChainPlan.Fresh(input, FreshReason.OtherConnection);
        }

        if (!state.Completed || state.ResponseId.Length == 0)
        {
            return new ChainPlan.Fresh(input, FreshReason.PreviousNotCompleted);
        }

        if (!JsonElement.DeepEquals(state.Settings, request.Settings()))
        {
            return new ChainPlan.Fresh(input, FreshReason.SettingsChanged);
        }

        var prefix = state.FullInput.Count + state.Output.Count;
        if (input.Count < prefix)
        {
            return new ChainPlan.Fresh(input, FreshReason.HistoryDiverged);
        }

        for (var i = 0; i < state.FullInput.Count; i++)
        {
            if (!IsSameInput(input[i], state.FullInput[i]))
            {
                return new ChainPlan.Fresh(input, FreshReason.HistoryDiverged);
            }
        }

        for (var i = 0; i < state.Output.Count; i++)
        {
            if (!IsSameItem(input[state.FullInput.Count + i], state.Output[i]))
            {
                return new ChainPlan.Fresh(input, FreshReason.HistoryDiverged);
            }
        }

        var delta = new JsonElement[input.Count - prefix];
        for (var i = 0; i < delta.Length; i++)
        {
            delta[i] = input[prefix + i];
        }

        return new ChainPlan.Continue(state.ResponseId, delta);
    }

    /// <summary>
    /// Whether a caller's input item is the server's output item: by item <c>id</c> when both have one;
    /// else by <c>call_id</c> for function calls; else an assistant message by its text (stateless
    /// clients often resend assistant turns without ids or statuses); else by canonical JSON equality.
    /// </summary>
    public static bool IsSameItem(JsonElement callerItem, OutputItem serverItem)
    {
        ArgumentNullException.ThrowIfNull(serverItem);
        if (callerItem.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var callerId = OutputItem.GetString(callerItem, "id");
        if (callerId is not null && serverItem.Id is not null)
        {
            return callerId == serverItem.Id && TypeOf(callerItem) == serverItem.Type;
        }

        if (serverItem.IsFunctionCall)
        {
            return TypeOf(callerItem) == ItemTypes.FunctionCall
                   && OutputItem.GetString(callerItem, "call_id") is { } callId
                   && callId == serverItem.CallId;
        }

        if (serverItem.Type == ItemTypes.Message && serverItem.Role == "assistant"
            && TypeOf(callerItem) == ItemTypes.Message && OutputItem.GetString(callerItem, "role") == "assistant")
        {
            return CallerText(callerItem) is { } text && text == serverItem.MessageText();
        }

        return JsonElement.DeepEquals(callerItem, serverItem.Json);
    }

    /// <summary>
    /// Whether a caller's input item is one it sent before: JSON-equal, or the same message written another
    /// way (a string <c>input</c> versus <c>{"role":"user","content":"…"}</c>, with or without
    /// <c>"type":"message"</c>, text as a string or as <c>input_text</c> parts) — same role, same text.
    /// </summary>
    public static bool IsSameInput(JsonElement item, JsonElement previous)
    {
        // Fast paths: a caller resending its history usually passes the very same elements, or the very same bytes.
        if (JsonIdentity.Same(item, previous) || JsonMarshal.GetRawUtf8Value(item).SequenceEqual(JsonMarshal.GetRawUtf8Value(previous)))
        {
            return true;
        }

        if (JsonElement.DeepEquals(item, previous))
        {
            return true;
        }

        return item.ValueKind == JsonValueKind.Object && previous.ValueKind == JsonValueKind.Object
               && TypeOf(item) == ItemTypes.Message && TypeOf(previous) == ItemTypes.Message
               && OutputItem.GetString(item, "role") is { } role && role == OutputItem.GetString(previous, "role")
               && CallerText(item) is { } text && text == CallerText(previous);
    }

    /// <summary>An item with no <c>type</c> but a <c>role</c> is a message (the easy input form).</summary>
    private static string? TypeOf(JsonElement item) =>
        OutputItem.GetString(item, "type") ?? (item.TryGetProperty("role", out _) ? ItemTypes.Message : null);

    private static string? CallerText(JsonElement item)
    {
        if (!item.TryGetProperty("content", out var content))
        {
            return null;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString();
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var text = string.Empty;
        foreach (var part in content.EnumerateArray())
        {
            var type = OutputItem.GetString(part, "type");
            if (type is "output_text" or "text" or "input_text" && OutputItem.GetString(part, "text") is { } t)
            {
                text += t;
            }
            else
            {
                // A refusal or a non-text part: not a plain text message.
                return null;
            }
        }

        return text;
    }
}
