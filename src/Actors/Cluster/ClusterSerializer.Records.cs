using System.Text.Json;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Cluster;

/// <summary>The wire form of the records inside the messages: a session's status, a turn's end, header maps.</summary>
public sealed partial class ClusterSerializer
{
    private static void WriteStatus(Utf8JsonWriter w, SessionStatus s)
    {
        w.WriteString("id", s.SessionId);
        w.WriteNumber("epoch", s.ConnectionEpoch);
        w.WriteString("state", s.ConnectionState.Name());
        if (s.ConnectionAge is { } age)
        {
            w.WriteNumber("age", age.Ticks);
        }

        if (s.LastTurnChained is { } chained)
        {
            w.WriteBoolean("chained", chained);
        }

        w.WriteNumber("turns", s.Turns);
        w.WriteNumber("rotations", s.Rotations);
        w.WriteNumber("replays", s.Replays);
        w.WriteNumber("fallbacks", s.Fallbacks);
        w.WriteNumber("queue", s.QueueLength);
        w.WriteBoolean("busy", s.Busy);
        w.WriteString("transport", s.Transport.ToString());
        w.WriteString("reason", s.TransportReason);
        w.WriteNumber("unread", s.UnreadEvents);
        w.WriteNumber("unreadBytes", s.UnreadBytes);
        w.WriteBoolean("waiting", s.WaitingForBudget);
    }

    private static SessionStatus ReadStatus(JsonElement o) => new(
        Str(o, "id")!,
        o.GetProperty("epoch").GetInt64(),
        ContractNames.ParseConnectionState(Str(o, "state")),
        o.TryGetProperty("age", out var age) ? TimeSpan.FromTicks(age.GetInt64()) : null,
        o.TryGetProperty("chained", out var chained) ? chained.GetBoolean() : null,
        o.GetProperty("turns").GetInt32(),
        o.GetProperty("rotations").GetInt32(),
        o.GetProperty("replays").GetInt32(),
        o.GetProperty("fallbacks").GetInt32(),
        o.GetProperty("queue").GetInt32(),
        o.GetProperty("busy").GetBoolean(),
        Enum.Parse<Transport>(Str(o, "transport")!),
        Str(o, "reason")!,
        o.GetProperty("unread").GetInt32(),
        o.GetProperty("unreadBytes").GetInt64(),
        o.TryGetProperty("waiting", out var waiting) && waiting.GetBoolean());

    /// <summary>A turn's end without its result beyond the result's status (the relay rebuilds the rest from the events).</summary>
    private static void WriteEnd(Utf8JsonWriter w, TurnEnd end)
    {
        w.WriteStartObject();
        w.WriteString("outcome", end.Outcome.ToString());
        w.WriteString("status", end.Result.Status.ToString());
        w.WriteBoolean("retryable", end.Retryable);
        w.WriteString("reason", end.Reason);
        w.WriteBoolean("chained", end.Chained);
        w.WriteString("transport", end.Transport.ToString());
        if (end.Rejection is { } rejection)
        {
            w.WriteString("rejection", rejection.ToString());
        }

        if (end.Error is { } e)
        {
            w.WriteStartObject("error");
            w.WriteString("origin", e.Origin.ToString());
            if (e.Status is { } status)
            {
                w.WriteNumber("status", status);
            }

            w.WriteString("type", e.Type);
            w.WriteString("code", e.Code);
            w.WriteString("message", e.Message);
            w.WriteString("param", e.Param);
            w.WriteString("stream", e.StreamId);
            if (e.SequenceNumber is { } sequence)
            {
                w.WriteNumber("sequence", sequence);
            }

            WriteMap(w, "headers", e.Headers);
            w.WriteEndObject();
        }

        WriteMap(w, "metadata", end.Metadata);
        if (end.Diagnostics is { } d)
        {
            w.WriteStartObject("diagnostics");
            w.WriteNumber("replays", d.Replays);
            w.WriteNumber("epoch", d.ConnectionEpoch);
            w.WriteNumber("bytes", d.BytesSent);
            w.WriteString("reason", d.TransportReason);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static TurnEnd ReadEnd(JsonElement o)
    {
        UpstreamError? error = null;
        if (o.TryGetProperty("error", out var e))
        {
            error = new UpstreamError(
                Enum.Parse<ErrorOrigin>(Str(e, "origin")!),
                e.TryGetProperty("status", out var status) ? status.GetInt32() : null,
                Str(e, "type"),
                Str(e, "code"),
                Str(e, "message")!,
                Str(e, "param"),
                ReadMap(e.GetProperty("headers")))
            {
                StreamId = Str(e, "stream"),
                SequenceNumber = e.TryGetProperty("sequence", out var sequence) ? sequence.GetInt64() : null,
            };
        }

        return new TurnEnd(
            Enum.Parse<TurnOutcome>(Str(o, "outcome")!),
            new TurnResult { Status = Enum.Parse<TurnStatus>(Str(o, "status")!) },
            error,
            o.GetProperty("retryable").GetBoolean(),
            Str(o, "reason"),
            o.GetProperty("chained").GetBoolean(),
            Enum.Parse<Transport>(Str(o, "transport")!))
        {
            Rejection = Str(o, "rejection") is { } rejection ? Enum.Parse<Rejection>(rejection) : null,
            Metadata = ReadMap(o.GetProperty("metadata")),
            Diagnostics = o.TryGetProperty("diagnostics", out var d)
                ? new TurnDiagnostics(d.GetProperty("replays").GetInt32(), d.GetProperty("epoch").GetInt64(), d.GetProperty("bytes").GetInt32(), Str(d, "reason"))
                : null,
        };
    }

    private static void WriteMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map)
        {
            w.WriteString(k, v);
        }

        w.WriteEndObject();
    }

    private static Dictionary<string, string> ReadMap(JsonElement o)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in o.EnumerateObject())
        {
            map[p.Name] = p.Value.GetString()!;
        }

        return map;
    }
}
