using System.Buffers;
using System.Collections.Concurrent;
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
    public ArchivedResponse Started(string id, string conversation, JsonElement snapshot, IReadOnlyList<JsonElement> input, string? previousResponseId, bool store, CancellationTokenSource turn)
    {
        var response = new ArchivedResponse(id, conversation, Context(input, previousResponseId), store, turn) { Json = snapshot };
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

    /// <summary>
    /// The context a response answered: with the caller's <c>previous_response_id</c> naming a response this archive holds,
    /// that response's context and output, then the new input; otherwise the input as sent (a caller resending its whole
    /// conversation sends it all).
    /// </summary>
    private IReadOnlyList<JsonElement> Context(IReadOnlyList<JsonElement> input, string? previousResponseId)
    {
        if (previousResponseId is not null && Get(previousResponseId) is { } parent)
        {
            return [.. parent.Context, .. parent.Output, .. input];
        }

        return input;
    }
}

/// <summary>One response of the archive; <see cref="Json"/> is its Response object as last known.</summary>
internal sealed class ArchivedResponse(string id, string conversation, IReadOnlyList<JsonElement> context, bool store, CancellationTokenSource? turn)
{
    private readonly object gate = new();
    private CancellationTokenSource? running = turn;

    public string Id { get; } = id;

    /// <summary>The tenant's session (conversation) the turn ran in.</summary>
    public string Conversation { get; } = conversation;

    public IReadOnlyList<JsonElement> Context { get; } = context;

    /// <summary>Whether the upstream stored it too (<c>store</c>, on unless false).</summary>
    public bool Store { get; } = store;

    public JsonElement Json { get; set; }

    public IReadOnlyList<JsonElement> Output =>
        Json.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Array ? [.. output.EnumerateArray()] : [];

    public string Status => Json.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "in_progress";

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
            Response = tenant.Archive.Started(r.Response.Id, turn.Conversation, r.Response.Json, turn.Request.Input, turn.Request.PreviousResponseId, turn.Request.EffectiveStore, cancel);
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
