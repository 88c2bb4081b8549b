using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Fantasy.Actors.Host;

/// <summary>
/// The responses a tenant's turns produced through this gateway node, as the API would return them — also the
/// <c>store:false</c> ones the upstream cannot: the Response object of the turn's terminal (or of its start while it
/// runs), and the whole context it answered (a chained turn's is its parent's context and output, then its new input).
/// A running response can be cancelled. The newest <see cref="Capacity"/> are kept; an evicted or unknown one is
/// answered by the upstream when it stored it.
/// </summary>
internal sealed class ResponseArchive(int capacity)
{
    private readonly ConcurrentDictionary<string, ArchivedResponse> responses = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> order = new();

    public int Capacity { get; } = Math.Max(1, capacity);

    public int Count => responses.Count;

    public ArchivedResponse? Get(string id) => responses.TryGetValue(id, out var response) ? response : null;

    /// <summary>A turn's response has started (its <c>response.created</c>): it can be read and cancelled from now on.</summary>
    public ArchivedResponse Started(string id, TurnRequest turn, JsonElement snapshot, CancellationTokenSource running)
    {
        ArgumentNullException.ThrowIfNull(turn);
        var request = turn.Request;

        // Kept as what is new: a caller resending its conversation sends the previous turn's input again, and only the
        // items after it are kept here (the rest is read from that response when asked for).
        // A turn the gateway sent with the context of the response it chained from keeps only the caller's items too.
        var continues = turn.Continues is { } previous ? Get(previous) : null;
        var sent = continues is not null ? [.. request.Input.Skip(turn.ContinuesItems)]
            : turn.Expanded is not null ? [.. request.Input.Skip(turn.ExpandedItems)]
            : request.Input;
        var chained = turn.Expanded ?? (request.PreviousResponseId is { } parent ? Get(parent) : null);
        var response = new ArchivedResponse(id, turn.Conversation, request.EffectiveStore, running, chained, continues, sent) { Json = snapshot };
        if (responses.TryAdd(id, response))
        {
            order.Enqueue(id);
            while (responses.Count > Capacity && order.TryDequeue(out var oldest))
            {
                responses.TryRemove(oldest, out _);
            }
        }

        return response;
    }

    public bool Remove(string id) => responses.TryRemove(id, out _);
}

/// <summary>
/// One response of the archive. Its Response object is kept as its bytes (read when asked for); its context is
/// <c>[chained's context and output] + [continued's input] + own</c>: the response it chains from with
/// <c>previous_response_id</c>, the previous turn whose whole input its body began with, and the items after.
/// </summary>
internal sealed class ArchivedResponse
{
    private readonly object gate = new();
    private readonly ArchivedResponse? chained;
    private readonly ArchivedResponse? continued;
    private readonly IReadOnlyList<JsonElement> own;
    private CancellationTokenSource? running;
    private byte[] json = [];

    public ArchivedResponse(string id, string conversation, bool store, CancellationTokenSource? running,
        ArchivedResponse? chained, ArchivedResponse? continued, IReadOnlyList<JsonElement> own)
    {
        Id = id;
        Conversation = conversation;
        Store = store;
        this.running = running;
        this.chained = chained;
        this.continued = continued;
        this.own = own;
    }

    /// <summary>A response as another node keeps it: its context whole.</summary>
    public ArchivedResponse(string id, IReadOnlyList<JsonElement> context, bool store)
        : this(id, string.Empty, store, running: null, chained: null, continued: null, context)
    {
    }

    public string Id { get; }

    /// <summary>How many items this response keeps itself (the rest of its context is read from the responses before it).</summary>
    public int KeptItems => own.Count;

    /// <summary>The tenant's session (conversation) the turn ran in.</summary>
    public string Conversation { get; }

    /// <summary>Whether the upstream stored it too (<c>store</c>, on unless false).</summary>
    public bool Store { get; }

    /// <summary>The Response object as last known (its start's while it runs, then its terminal's).</summary>
    public JsonElement Json
    {
        get => JsonDocument.Parse(Volatile.Read(ref json)).RootElement;
        set => Volatile.Write(ref json, JsonMarshal.GetRawUtf8Value(value).ToArray());
    }

    /// <summary>Every item the response answered, oldest first.</summary>
    public IReadOnlyList<JsonElement> Context
    {
        get
        {
            var items = new List<JsonElement>();
            if (chained is not null)
            {
                items.AddRange(chained.Context);
                items.AddRange(chained.Output);
            }

            items.AddRange(Sent);
            return items;
        }
    }

    /// <summary>The input as its request sent it.</summary>
    private IReadOnlyList<JsonElement> Sent
    {
        get
        {
            // Iterative: a long conversation continues one response from the next.
            var parts = new Stack<ArchivedResponse>();
            for (var at = this; at is not null; at = at.continued)
            {
                parts.Push(at);
            }

            var items = new List<JsonElement>();
            foreach (var part in parts)
            {
                items.AddRange(part.own);
            }

            return items;
        }
    }

    public IReadOnlyList<JsonElement> Output =>
        Json.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Array ? [.. output.EnumerateArray()] : [];

    public string Status => Json.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "in_progress";

    /// <summary>Read back from its session's journal (<see cref="RecordedResponses"/>), not kept by a gateway node.</summary>
    public bool Recorded { get; init; }

    /// <summary>Set once the response was cancelled through the API (its turn then ends cancelled).</summary>
    public bool CancelledByApi { get; private set; }

    public bool Running
    {
        get
        {
            lock (gate)
            {
                return running is not null;
            }
        }
    }

    /// <summary>The turn ended with <paramref name="terminal"/> (its terminal Response object), or without one.</summary>
    public void Ended(JsonElement? terminal)
    {
        lock (gate)
        {
            running = null;
            if (terminal is { } json)
            {
                Json = json;
            }
            else if (!CancelledByApi && Status is "in_progress" or "queued")
            {
                Json = WithStatus(Json, "failed");
            }
        }
    }

    /// <summary>
    /// Cancels the running turn: true, and the Response object is now <c>cancelled</c>; false when it is not running
    /// (its status says why).
    /// </summary>
    public bool TryCancel()
    {
        CancellationTokenSource? turn;
        lock (gate)
        {
            if (running is null)
            {
                return CancelledByApi; // cancelling twice answers the same cancelled response
            }

            turn = running;
            running = null;
            CancelledByApi = true;
            Json = WithStatus(Json, "cancelled");
        }

        try
        {
            turn.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The turn ended at this moment; it is cancelled as far as the caller is concerned.
        }

        return true;
    }

    /// <summary>The Response object with another <c>status</c>, every other field as it was.</summary>
    public static JsonElement WithStatus(JsonElement response, string status)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            var wrote = false;
            foreach (var property in response.EnumerateObject())
            {
                if (property.NameEquals("status"u8))
                {
                    w.WriteString("status"u8, status);
                    wrote = true;
                }
                else
                {
                    property.WriteTo(w);
                }
            }

            if (!wrote)
            {
                w.WriteString("status"u8, status);
            }

            w.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory).RootElement;
    }
}

/// <summary>
/// One turn as the archive sees it: its response is recorded when it starts (<c>response.created</c>) and again at its
/// terminal, and its token is what a cancel through the API cancels (linked to the request's, so a client that goes
/// away still cancels it).
/// </summary>
internal sealed class ArchivedTurn : IDisposable
{
    private readonly TenantState tenant;
    private readonly TurnRequest turn;
    private readonly CancellationTokenSource cancel;
    private JsonElement? terminal;

    public ArchivedTurn(TenantState tenant, TurnRequest turn, CancellationToken requestAborted)
    {
        this.tenant = tenant;
        this.turn = turn;
        cancel = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
    }

    /// <summary>The token the turn runs with.</summary>
    public CancellationToken Token => cancel.Token;

    public ArchivedResponse? Response { get; private set; }

    /// <summary>The turn was cancelled through <c>POST /v1/responses/{id}/cancel</c>.</summary>
    public bool CancelledByApi => Response?.CancelledByApi == true;

    public void Seen(Protocol.ServerEvent e)
    {
        if (e is not Protocol.ResponseEvent r || string.IsNullOrEmpty(r.Response.Id))
        {
            return;
        }

        if (Response is null)
        {
            // The tenant's from its start (replicated in cluster mode), so any node can find and cancel it while it runs.
            tenant.Remember(r.Response.Id);
            Response = tenant.Archive.Started(r.Response.Id, turn, r.Response.Json, cancel);
        }

        if (e is Protocol.ResponseCompleted or Protocol.ResponseIncomplete or Protocol.ResponseFailed or Protocol.ResponseDone)
        {
            terminal = r.Response.Json;
        }
    }

    public void Dispose()
    {
        Response?.Ended(terminal);
        cancel.Dispose();
    }
}
