using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>A <c>POST /v1/responses</c> that passed validation: the request and the conversation it belongs to.</summary>
/// <param name="Request">The parsed body.</param>
/// <param name="Conversation">The session's id within the tenant: the <c>X-Session-Id</c> header, or a new one-off id.</param>
/// <param name="Ephemeral">No <c>X-Session-Id</c>: a one-off session, closed after its turn and not counted against the tenant's limit.</param>
internal sealed record TurnRequest(ResponseRequest Request, string Conversation, bool Ephemeral)
{
    /// <summary>The body's size in bytes (a tenant's token limit charges its estimate before the turn).</summary>
    public long BodyBytes { get; init; }

    /// <summary>
    /// The response of the session's previous turn when this body begins with that turn's whole input, recognised as the
    /// same items (<see cref="ResponseRequest.HeldPrefix"/>): this turn's input is that input, then the items after it
    /// (<see cref="ContinuesItems"/> of them are that input).
    /// </summary>
    public string? Continues { get; init; }

    public int ContinuesItems { get; init; }

    /// <summary>
    /// The <c>store:false</c> response this turn chained from with <c>previous_response_id</c> when the gateway sends its
    /// context instead (<see cref="ExpandAsync"/>): the input is that response's context and output
    /// (<see cref="ExpandedItems"/> items), then the caller's items.
    /// </summary>
    public ArchivedResponse? Expanded { get; init; }

    public int ExpandedItems { get; init; }

    public const string SessionHeader = "X-Session-Id";

    /// <summary>
    /// Reads and checks a turn's request: the body within <see cref="GatewayOptions.MaxBodyBytes"/>, valid JSON with a
    /// model, a well-formed session id, and a <c>previous_response_id</c> this tenant owns. Every refusal is a typed
    /// <see cref="RequestProblem"/>, answered through <see cref="TurnErrors"/>.
    /// </summary>
    public static async Task<(TurnRequest? Turn, GatewayError? Error)> ReadAsync(HttpContext context, GatewayOptions options, TenantState tenant)
    {
        if (await ReadBodyAsync(context, options.MaxBodyBytes).ConfigureAwait(false) is not { } body)
        {
            return Refused(RequestProblem.TooLarge, $"The request body is larger than the gateway's limit of {options.MaxBodyBytes} bytes (Fantasy:Gateway:MaxBodyBytes).");
        }

        var bodyBytes = body.Length;
        var ephemeral = !context.Request.Headers.ContainsKey(SessionHeader);
        var sessionId = context.Request.Headers[SessionHeader].ToString();

        // A named session's caller usually resends what it sent and got last turn: those items are not parsed again.
        ResponseRequest request;
        string? continues = null;
        var continuesItems = 0;
        try
        {
            var held = ephemeral ? null : tenant.Held.Get(sessionId);
            request = ephemeral ? ResponseRequest.Parse(body.Span) : ResponseRequest.Parse(body.Span, held?.Request, held?.Output);
            if (held is { Request.Input.Count: > 0 } h && request.HeldPrefix >= h.Request.Input.Count)
            {
                (continues, continuesItems) = (h.ResponseId, h.Request.Input.Count);
            }
        }
        catch (ProtocolException ex)
        {
            return Refused(RequestProblem.InvalidJson, $"Invalid request body: {ex.Message}", ex.Field);
        }
        finally
        {
            body.Dispose(); // the parse keeps nothing of the body's buffer
        }

        if (string.IsNullOrEmpty(request.Model))
        {
            return Refused(RequestProblem.MissingModel, "Missing required parameter: 'model'.", "model");
        }

        if (request.Background == true)
        {
            // Never answered synchronously as if it were a normal request: a client polling the id would break.
            return Refused(RequestProblem.BackgroundUnsupported, "Unsupported parameter: 'background'. The gateway runs responses over a live connection (WebSocket mode) and has no background responses; send the request without 'background', or call the API directly for background mode.", "background");
        }

        if (!ephemeral && !SessionKey.IsValidPart(sessionId))
        {
            return Refused(RequestProblem.InvalidSessionId, $"{SessionHeader} must be 1–128 characters of letters, digits, '_', '.', ':' or '-'.", SessionHeader);
        }

        if (request.PreviousResponseId is { } previous)
        {
            switch (await tenant.OwnsAsync(previous, context.RequestAborted).ConfigureAwait(false))
            {
                case false:
                    return Refused(RequestProblem.UnknownPreviousResponse, $"Previous response with id '{previous}' not found.", "previous_response_id");
                case null:
                    return Refused(RequestProblem.OwnershipUnknown, $"Whether response '{previous}' is this tenant's cannot be read now: the conversation store is unavailable.", "previous_response_id");
            }
        }

        // A store:false response the upstream no longer holds on a connection is continued from what the gateway kept.
        ArchivedResponse? expanded = null;
        if (request.PreviousResponseId is { } chainedFrom && (ephemeral || tenant.Held.Get(sessionId)?.ResponseId != chainedFrom))
        {
            try
            {
                expanded = await ExpandAsync(tenant, chainedFrom, ephemeral ? null : sessionId, context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (TenantState.CannotRead(e))
            {
                return Refused(RequestProblem.OwnershipUnknown, $"Response '{chainedFrom}' could not be read to continue from it: the conversation store is unavailable ({e.Message}).", "previous_response_id");
            }
        }

        var expandedItems = 0;
        if (expanded is not null)
        {
            // The upstream gets the whole conversation, fresh; the archive keeps only the caller's items for this turn.
            var (before, output) = (expanded.Context, expanded.Output);
            var whole = new List<System.Text.Json.JsonElement>(before.Count + output.Count + request.Input.Count);
            whole.AddRange(before);
            whole.AddRange(output);
            expandedItems = whole.Count;
            whole.AddRange(request.Input);
            request = request.Unchained(whole);
        }

        // A conversation (Conversations API) must be the tenant's too: the upstream account may be shared by every tenant.
        if (ConversationOf(request) is { } conversation && tenant.Upstream is not { Own: true })
        {
            switch (await tenant.OwnsConversationAsync(conversation, context.RequestAborted).ConfigureAwait(false))
            {
                case false:
                    return Refused(RequestProblem.UnknownConversation, $"Conversation with id '{conversation}' not found.", "conversation");
                case null:
                    return Refused(RequestProblem.OwnershipUnknown, $"Whether conversation '{conversation}' is this tenant's cannot be read now: the conversation store is unavailable.", "conversation");
            }
        }

        return (new TurnRequest(request, ephemeral ? "eph-" + Guid.NewGuid().ToString("N") : sessionId, ephemeral) { BodyBytes = bodyBytes, Continues = continues, ContinuesItems = continuesItems, Expanded = expanded, ExpandedItems = expandedItems }, null);
    }

    /// <summary>
    /// The response to send the context of, for a turn chaining from <paramref name="previous"/> (owned by the tenant):
    /// a <c>store:false</c> response that ended with an answer, as a gateway node keeps it or, read back from its
    /// session's journal, as it was recorded. The upstream holds such a response only on the connection that produced it:
    /// a one-off turn's connection is new, and a session's holds only its latest. Null otherwise: a stored response is
    /// the upstream's to continue, and the latest response of <paramref name="session"/> (a named session's turn) is
    /// the session's to continue from its transcript — also after a restart, so its journal is read only for another.
    /// </summary>
    private static async Task<ArchivedResponse?> ExpandAsync(TenantState tenant, string previous, string? session, CancellationToken cancellationToken)
    {
        var (here, elsewhere) = await tenant.FindKeptAsync(previous, ArchiveAction.Read, cancellationToken, unlessLatestOf: session).ConfigureAwait(false);
        var kept = here ?? (elsewhere is not null ? ArchivePeers.ToResponse(previous, elsewhere) : null);
        return kept is { Store: false, Status: "completed" or "incomplete" } ? kept : null;
    }

    /// <summary>The request's <c>conversation</c>: its id, given as a string or as <c>{"id": …}</c>.</summary>
    private static string? ConversationOf(ResponseRequest request) =>
        request.Extra?.TryGetValue("conversation", out var c) != true ? null
        : c.ValueKind == System.Text.Json.JsonValueKind.String ? c.GetString()
        : c.ValueKind == System.Text.Json.JsonValueKind.Object && c.TryGetProperty("id", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String ? id.GetString()
        : null;

    private static (TurnRequest?, GatewayError?) Refused(RequestProblem problem, string message, string? param = null) =>
        (null, TurnErrors.For(problem, message, param));

    /// <summary>The body, in a pooled buffer of the announced size when there is one; null when over <paramref name="max"/>.</summary>
    private static async Task<Body?> ReadBodyAsync(HttpContext context, long max)
    {
        if (context.Request.ContentLength > max)
        {
            return null;
        }

        if (context.Request.ContentLength is { } length)
        {
            // The usual case: read straight into one pooled array of the announced size (no growing copies, and no
            // new large array per turn for a long conversation resent whole).
            var body = new Body(System.Buffers.ArrayPool<byte>.Shared.Rent((int)length), 0);
            try
            {
                while (body.Length < length)
                {
                    var n = await context.Request.Body.ReadAsync(body.Buffer.AsMemory(body.Length, (int)length - body.Length), context.RequestAborted).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    body = body with { Length = body.Length + n };
                }

                return body;
            }
            catch
            {
                body.Dispose();
                throw;
            }
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        var whole = buffer.ToArray();
        return new Body(whole, whole.Length, Pooled: false);
    }

    /// <summary>A body's bytes: the first <paramref name="Length"/> of <paramref name="Buffer"/>, returned to the pool when done.</summary>
    private readonly record struct Body(byte[] Buffer, int Length, bool Pooled = true) : IDisposable
    {
        public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);

        public void Dispose()
        {
            if (Pooled)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(Buffer);
            }
        }
    }
}
