using System.Buffers;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Cluster.RelayProtocol;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Cluster;

/// <summary>
/// The wire format of every message that crosses nodes in cluster mode: JSON (System.Text.Json's reader and writer,
/// no reflection), one short manifest per type. Actor references travel as their full paths; a request as its own
/// JSON (<see cref="ResponseRequest.ToJson"/>); an upstream event as the bytes the upstream sent.
/// Bound in <c>fantasy.conf</c> under <c>akka.actor.serialization-bindings</c>.
/// </summary>
public sealed partial class ClusterSerializer : SerializerWithStringManifest
{
    private const string Submit = "submit";
    private const string Taken = "taken";
    private const string Cancel = "cancel";
    private const string StatusQuery = "status?";
    private const string StatusAnswer = "status";
    private const string NoSession = "none";
    private const string Close = "close";
    private const string Closed = "closed";
    private const string Stop = "stop";
    private const string Accepted = "accepted";
    private const string Started = "started";
    private const string Event = "event";
    private const string Events = "events";
    private const string Finished = "finished";
    private const string AdmitSession = "admit";
    private const string AdmittedSession = "admitted";
    private const string ReleasedSession = "released";

    /// <summary>Made by Akka from the serializer's configuration.</summary>
    public ClusterSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <summary>The serializer's id in <c>akka.actor.serialization-identifiers</c>.</summary>
    public override int Identifier => 4711;

    /// <inheritdoc/>
    public override string Manifest(object o) => o switch
    {
        SubmitTurn => Submit,
        TurnEventTaken => Taken,
        CancelSessionTurn => Cancel,
        GetSessionStatus => StatusQuery,
        SessionStatus => StatusAnswer,
        NoSuchSession => NoSession,
        CloseSession => Close,
        SessionClosed => Closed,
        StopSession => Stop,
        TurnAccepted => Accepted,
        RelayedStarted => Started,
        RelayedEvent => Event,
        RelayedEvents => Events,
        RelayedFinished => Finished,
        SessionAdmission.Admit => AdmitSession,
        SessionAdmission.Admitted => AdmittedSession,
        SessionAdmission.Released => ReleasedSession,
        _ => throw new ArgumentException($"{o.GetType()} is not a cluster message", nameof(o)),
    };

    /// <inheritdoc/>
    public override byte[] ToBinary(object obj)
    {
        if (obj is RelayedEvent relayed)
        {
            if (relayed.Json.Length == 0 && relayed.Parsed is { } parsed)
            {
                // A same-process event that crosses after all (a relay address resolved as remote): its received bytes.
                relayed = relayed with { Json = parsed.ReceivedJson.ToArray() };
            }

            // The hot message: the turn id, a separator, then the event's bytes as they came.
            var id = System.Text.Encoding.UTF8.GetBytes(relayed.TurnId);
            var bytes = new byte[id.Length + 1 + relayed.Json.Length];
            id.CopyTo(bytes, 0);
            bytes[id.Length] = (byte)'\n';
            relayed.Json.CopyTo(bytes, id.Length + 1);
            return bytes;
        }

        if (obj is RelayedEvents batch)
        {
            // The turn id, a separator, then each event as a 4-byte little-endian length and its bytes as they came.
            var id = System.Text.Encoding.UTF8.GetBytes(batch.TurnId);
            var size = id.Length + 1;
            foreach (var e in batch.Events)
            {
                size += 4 + e.Length;
            }

            var bytes = new byte[size];
            id.CopyTo(bytes, 0);
            bytes[id.Length] = (byte)'\n';
            var at = id.Length + 1;
            foreach (var e in batch.Events)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), e.Length);
                e.CopyTo(bytes, at + 4);
                at += 4 + e.Length;
            }

            return bytes;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            Write(w, obj);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <inheritdoc/>
    public override object FromBinary(byte[] bytes, string manifest)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (manifest == Event)
        {
            var split = Array.IndexOf(bytes, (byte)'\n');
            return new RelayedEvent(System.Text.Encoding.UTF8.GetString(bytes, 0, split), bytes[(split + 1)..]);
        }

        if (manifest == Events)
        {
            var split = Array.IndexOf(bytes, (byte)'\n');
            var events = new List<byte[]>();
            for (var at = split + 1; at < bytes.Length;)
            {
                if (at + 4 > bytes.Length)
                {
                    throw new System.Runtime.Serialization.SerializationException($"a relayed event batch is cut short at byte {at} of {bytes.Length}");
                }

                var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
                if (length < 0 || at + 4 + length > bytes.Length)
                {
                    throw new System.Runtime.Serialization.SerializationException($"a relayed event batch is cut short at byte {at} of {bytes.Length}");
                }

                events.Add(bytes[(at + 4)..(at + 4 + length)]);
                at += 4 + length;
            }

            return new RelayedEvents(System.Text.Encoding.UTF8.GetString(bytes, 0, split), events);
        }

        using var doc = JsonDocument.Parse(bytes);
        var o = doc.RootElement;
        return manifest switch
        {
            Submit => new SubmitTurn(Key(o), Str(o, "turn")!, ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(o.GetProperty("request").GetRawText())),
                new TurnOptions { PreviousResponseId = Str(o, "previous"), GenerateWarmup = o.GetProperty("warmup").GetBoolean(), ResetChain = o.GetProperty("reset").GetBoolean(), Durable = !o.TryGetProperty("durable", out var durable) || durable.GetBoolean(),
                    ContinueSession = o.TryGetProperty("continue", out var next) && next.GetBoolean() },
                new RelayTurnOutput(Ref(Str(o, "relay")!), Str(o, "turn")!)),
            Taken => new TurnEventTaken(Key(o), Str(o, "turn")!, o.GetProperty("count").GetInt32()),
            Cancel => new CancelSessionTurn(Key(o), Str(o, "turn")!),
            StatusQuery => new GetSessionStatus(Key(o)),
            StatusAnswer => ReadStatus(o),
            NoSession => new NoSuchSession(Key(o)),
            Close => new CloseSession(Key(o), o.TryGetProperty("forget", out var forget) && forget.GetBoolean()),
            Closed => new SessionClosed(Key(o), o.GetProperty("existed").GetBoolean(), o.TryGetProperty("problem", out var problem) ? problem.GetString() : null),
            Stop => StopSession.Instance,
            Accepted => new TurnAccepted(Str(o, "turn")!),
            Started => new RelayedStarted(Str(o, "turn")!, Enum.Parse<Transport>(Str(o, "transport")!), o.GetProperty("chained").GetBoolean()),
            Finished => new RelayedFinished(Str(o, "turn")!, ReadEnd(o.GetProperty("end"))),
            AdmitSession => new SessionAdmission.Admit(Str(o, "tenant")!, Str(o, "session")!, o.GetProperty("max").GetInt32()),
            AdmittedSession => new SessionAdmission.Admitted(o.GetProperty("ok").GetBoolean(), o.GetProperty("count").GetInt32()),
            ReleasedSession => new SessionAdmission.Released(Str(o, "tenant")!, Str(o, "session")!),
            _ => throw new System.Runtime.Serialization.SerializationException($"unknown cluster message manifest '{manifest}'"),
        };
    }

    private static void Write(Utf8JsonWriter w, object obj)
    {
        switch (obj)
        {
            case SubmitTurn s:
                WriteKey(w, s.Key);
                w.WriteString("turn", s.TurnId);
                w.WritePropertyName("request");
                w.WriteRawValue(s.Request.ToJson(), skipInputValidation: true);
                w.WriteString("previous", s.Options.PreviousResponseId);
                w.WriteBoolean("warmup", s.Options.GenerateWarmup);
                w.WriteBoolean("reset", s.Options.ResetChain);
                if (!s.Options.Durable)
                {
                    w.WriteBoolean("durable", false);
                }

                if (s.Options.ContinueSession)
                {
                    w.WriteBoolean("continue", true);
                }

                var relay = s.Out as RelayTurnOutput
                    ?? throw new ArgumentException("a turn crosses nodes only with a relay output (cluster mode); this one writes to a local channel", nameof(obj));
                w.WriteString("relay", Akka.Serialization.Serialization.SerializedActorPath(relay.Relay));
                break;
            case TurnEventTaken t:
                WriteKey(w, t.Key);
                w.WriteString("turn", t.TurnId);
                w.WriteNumber("count", t.Count);
                break;
            case CancelSessionTurn c:
                WriteKey(w, c.Key);
                w.WriteString("turn", c.TurnId);
                break;
            case GetSessionStatus g:
                WriteKey(w, g.Key);
                break;
            case SessionStatus status:
                WriteStatus(w, status);
                break;
            case NoSuchSession n:
                WriteKey(w, n.Key);
                break;
            case CloseSession c:
                WriteKey(w, c.Key);
                if (c.Forget)
                {
                    w.WriteBoolean("forget", true);
                }

                break;
            case SessionClosed c:
                WriteKey(w, c.Key);
                w.WriteBoolean("existed", c.Existed);
                if (c.Problem is not null)
                {
                    w.WriteString("problem", c.Problem);
                }

                break;
            case StopSession:
                break;
            case TurnAccepted a:
                w.WriteString("turn", a.TurnId);
                break;
            case RelayedStarted s:
                w.WriteString("turn", s.TurnId);
                w.WriteString("transport", s.Transport.ToString());
                w.WriteBoolean("chained", s.Chained);
                break;
            case RelayedFinished f:
                w.WriteString("turn", f.TurnId);
                w.WritePropertyName("end");
                WriteEnd(w, f.End);
                break;
            case SessionAdmission.Admit a:
                w.WriteString("tenant", a.Tenant);
                w.WriteString("session", a.SessionId);
                w.WriteNumber("max", a.Max);
                break;
            case SessionAdmission.Admitted a:
                w.WriteBoolean("ok", a.Ok);
                w.WriteNumber("count", a.Count);
                break;
            case SessionAdmission.Released r:
                w.WriteString("tenant", r.Tenant);
                w.WriteString("session", r.SessionId);
                break;
            default:
                throw new ArgumentException($"{obj.GetType()} is not a cluster message", nameof(obj));
        }
    }

    private static void WriteKey(Utf8JsonWriter w, SessionKey key)
    {
        w.WriteString("tenant", key.Tenant);
        w.WriteString("conversation", key.Conversation);
    }

    private static SessionKey Key(JsonElement o) => new(Str(o, "tenant")!, Str(o, "conversation")!);

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private IActorRef Ref(string path) => system.Provider.ResolveActorRef(path);

}
