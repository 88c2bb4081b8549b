using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// What a session's journal says about its conversation, without Akka: the transcript of the last completed turn
/// (its settings, whole input and output items, response id) and how many turns were recorded. Each recorded turn
/// is a <see cref="TranscriptChange"/> from the previous transcript — the items it kept and the ones it added — so a
/// 200-turn conversation writes each item once, not the whole history every turn; a snapshot holds the whole state.
/// </summary>
internal sealed class SessionRecord
{
    /// <summary>The transcript a session continues from (null: none, or it was dropped).</summary>
    public ChainState? Transcript { get; private set; }

    /// <summary>Turns recorded since the conversation began.</summary>
    public int Turns { get; private set; }

    /// <summary>Changes applied since the last snapshot (recovery reads this many events).</summary>
    public int SinceSnapshot { get; private set; }

    /// <summary>
    /// The change that takes this record to <paramref name="next"/>: the longest prefix of the previous conversation
    /// (input then output items) that <paramref name="next"/>'s input starts with, byte for byte, is kept; the rest is
    /// written. Settings are written when they changed.
    /// </summary>
    public TranscriptChange Diff(ChainState? next)
    {
        if (next is null)
        {
            return TranscriptChange.Cleared;
        }

        var keep = 0;
        var settingsSame = false;
        if (Transcript is { } previous)
        {
            settingsSame = SameBytes(previous.Settings, next.Settings);
            var before = previous.FullInput.Count + previous.Output.Count;
            while (keep < before && keep < next.FullInput.Count && SameBytes(ItemAt(previous, keep), next.FullInput[keep]))
            {
                keep++;
            }
        }

        var added = new JsonElement[next.FullInput.Count - keep];
        for (var i = 0; i < added.Length; i++)
        {
            added[i] = next.FullInput[keep + i];
        }

        return new TranscriptChange(next.ResponseId, keep, settingsSame ? null : next.Settings, added, [.. next.Output.Select(o => o.Json)]);
    }

    /// <summary>Applies a recorded change (live, or replayed in recovery).</summary>
    public void Apply(TranscriptChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Turns++;
        SinceSnapshot++;
        if (change.ResponseId is null)
        {
            Transcript = null;
            return;
        }

        var previous = Transcript;
        if (change.Keep > 0 && (previous is null || change.Keep > previous.FullInput.Count + previous.Output.Count))
        {
            throw new InvalidOperationException($"a recorded turn keeps {change.Keep} items of a transcript that has {(previous is null ? 0 : previous.FullInput.Count + previous.Output.Count)}");
        }

        var input = new List<JsonElement>(change.Keep + change.Added.Count);
        for (var i = 0; i < change.Keep; i++)
        {
            input.Add(ItemAt(previous!, i));
        }

        input.AddRange(change.Added);
        var settings = change.Settings ?? previous?.Settings
            ?? throw new InvalidOperationException("a recorded turn without settings follows no transcript");
        Transcript = new ChainState(0, change.ResponseId, settings, input, [.. change.Output.Select(o => new OutputItem(o))], Completed: true);
    }

    /// <summary>Takes the state of a snapshot (recovery).</summary>
    public void Restore(RecordSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Turns = snapshot.Turns;
        SinceSnapshot = 0;
        Transcript = snapshot.Transcript;
    }

    /// <summary>The state as a snapshot; the count since the last one starts again.</summary>
    public RecordSnapshot Snapshot()
    {
        SinceSnapshot = 0;
        return new RecordSnapshot(Turns, Transcript);
    }

    private static JsonElement ItemAt(ChainState state, int index) =>
        index < state.FullInput.Count ? state.FullInput[index] : state.Output[index - state.FullInput.Count].Json;

    private static bool SameBytes(JsonElement a, JsonElement b) =>
        JsonMarshal.GetRawUtf8Value(a).SequenceEqual(JsonMarshal.GetRawUtf8Value(b));
}

/// <summary>
/// One recorded turn: the transcript after it is the first <paramref name="Keep"/> items of the previous one (its input
/// then its output items), then <paramref name="Added"/>, with <paramref name="Output"/>; <paramref name="Settings"/>
/// null when unchanged. A null <paramref name="ResponseId"/> clears the transcript.
/// </summary>
internal sealed record TranscriptChange(
    string? ResponseId,
    int Keep,
    JsonElement? Settings,
    IReadOnlyList<JsonElement> Added,
    IReadOnlyList<JsonElement> Output)
{
    /// <summary>The transcript is gone (the turn left no known conversation, or it outgrew <c>max-transcript-items</c>).</summary>
    public static TranscriptChange Cleared { get; } = new(null, 0, null, [], []);

    /// <summary>The change as compact JSON.</summary>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (ResponseId is not null)
            {
                w.WriteString("r", ResponseId);
                w.WriteNumber("k", Keep);
                if (Settings is { } s)
                {
                    w.WritePropertyName("s");
                    RecordCodec.WriteRaw(w, s);
                }

                RecordCodec.WriteItems(w, "i", Added);
                RecordCodec.WriteItems(w, "o", Output);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static TranscriptChange FromJson(ReadOnlyMemory<byte> json)
    {
        var root = JsonDocument.Parse(json).RootElement;
        if (!root.TryGetProperty("r", out var r))
        {
            return Cleared;
        }

        JsonElement? settings = root.TryGetProperty("s", out var s) ? s : null;
        return new TranscriptChange(r.GetString(), root.GetProperty("k").GetInt32(), settings, RecordCodec.ReadItems(root, "i"), RecordCodec.ReadItems(root, "o"));
    }
}

/// <summary>A session's whole record at one point: recovery starts from the latest and applies the changes after it.</summary>
internal sealed record RecordSnapshot(int Turns, ChainState? Transcript)
{
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("t", Turns);
            if (Transcript is { } t)
            {
                w.WriteString("r", t.ResponseId);
                w.WritePropertyName("s");
                RecordCodec.WriteRaw(w, t.Settings);
                RecordCodec.WriteItems(w, "i", t.FullInput);
                RecordCodec.WriteItems(w, "o", [.. t.Output.Select(o => o.Json)]);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static RecordSnapshot FromJson(ReadOnlyMemory<byte> json)
    {
        var root = JsonDocument.Parse(json).RootElement;
        var turns = root.GetProperty("t").GetInt32();
        if (!root.TryGetProperty("r", out var r))
        {
            return new RecordSnapshot(turns, null);
        }

        var transcript = new ChainState(0, r.GetString()!, root.GetProperty("s"), RecordCodec.ReadItems(root, "i"),
            [.. RecordCodec.ReadItems(root, "o").Select(o => new OutputItem(o))], Completed: true);
        return new RecordSnapshot(turns, transcript);
    }
}

internal static class RecordCodec
{
    /// <summary>The element exactly as it was received: recovery gives back the same bytes, so the same chain.</summary>
    public static void WriteRaw(Utf8JsonWriter w, JsonElement element) =>
        w.WriteRawValue(JsonMarshal.GetRawUtf8Value(element), skipInputValidation: true);

    public static void WriteItems(Utf8JsonWriter w, string name, IReadOnlyList<JsonElement> items)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            WriteRaw(w, item);
        }

        w.WriteEndArray();
    }

    public static JsonElement[] ReadItems(JsonElement root, string name)
    {
        var array = root.GetProperty(name);
        var items = new JsonElement[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            items[i++] = item;
        }

        return items;
    }
}
