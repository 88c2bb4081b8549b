using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>A <c>POST /v1/responses</c> that passed validation: the request and the conversation it belongs to.</summary>
/// <param name="Request">The parsed body.</param>
/// <param name="Conversation">The session's id within the tenant: the <c>X-Session-Id</c> header, or a new one-off id.</param>
/// <param name="Ephemeral">No <c>X-Session-Id</c>: a one-off session, closed after its turn and not counted against the tenant's limit.</param>
internal sealed record TurnRequest(ResponseRequest Request, string Conversation, bool Ephemeral)
{
    public const string SessionHeader = "X-Session-Id";

    /// <summary>
    /// Reads and checks a turn's request: the body within <see cref="GatewayOptions.MaxBodyBytes"/>, valid JSON with a
    /// model, a well-formed session id, and a <c>previous_response_id</c> this tenant owns. Every refusal is a typed
    /// <see cref="RequestProblem"/>, answered through <see cref="TurnErrors"/>.
    /// </summary>
    public static async Task<(TurnRequest? Turn, GatewayError? Error)> ReadAsync(HttpContext context, GatewayOptions options, TenantState tenant)
    {
        var body = await ReadBodyAsync(context, options.MaxBodyBytes).ConfigureAwait(false);
        if (body is null)
        {
            return Refused(RequestProblem.TooLarge, $"The request body is larger than the gateway's limit of {options.MaxBodyBytes} bytes (Fantasy:Gateway:MaxBodyBytes).");
        }

        var ephemeral = !context.Request.Headers.ContainsKey(SessionHeader);
        var sessionId = context.Request.Headers[SessionHeader].ToString();

        // A named session's caller usually resends what it sent and got last turn: those items are not parsed again.
        ResponseRequest request;
        try
        {
            request = ResponseRequest.Parse(body, ephemeral ? null : tenant.KnownItems(sessionId));
        }
        catch (ProtocolException ex)
        {
            return Refused(RequestProblem.InvalidJson, $"Invalid request body: {ex.Message}", ex.Field);
        }

        if (string.IsNullOrEmpty(request.Model))
        {
            return Refused(RequestProblem.MissingModel, "Missing required parameter: 'model'.", "model");
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

        return (new TurnRequest(request, ephemeral ? "eph-" + Guid.NewGuid().ToString("N") : sessionId, ephemeral), null);
    }

    private static (TurnRequest?, GatewayError?) Refused(RequestProblem problem, string message, string? param = null) =>
        (null, TurnErrors.For(problem, message, param));

    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, long max)
    {
        if (context.Request.ContentLength > max)
        {
            return null;
        }

        if (context.Request.ContentLength is { } length)
        {
            // The usual case: read straight into one array of the announced size (no growing copies).
            var body = new byte[length];
            var filled = 0;
            while (filled < body.Length)
            {
                var n = await context.Request.Body.ReadAsync(body.AsMemory(filled), context.RequestAborted).ConfigureAwait(false);
                if (n == 0)
                {
                    return body.AsSpan(0, filled).ToArray();
                }

                filled += n;
            }

            return body;
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

        return buffer.ToArray();
    }
}
