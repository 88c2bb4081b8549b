using System.Text.Json;
using Fantasy.Actors.Contract;

namespace Fantasy.Actors.Host;

/// <summary><c>/v1/sessions</c>: a tenant's sessions, listed, read and closed.</summary>
internal static class SessionsEndpoints
{
    public static async Task ListAsync(HttpContext context)
    {
        var tenant = context.Tenant();

        var statuses = new List<(string Id, SessionStatus Status)>();
        foreach (var id in tenant.SessionIds.Order(StringComparer.Ordinal))
        {
            if (await tenant.Sessions.GetStatusAsync(new SessionKey(tenant.Options.Name, id), context.RequestAborted) is { } status)
            {
                tenant.Present(id);
                statuses.Add((id, status));
            }
            else
            {
                // Not listed; forgotten once it has been missing a while (it may be a session whose first turn is on its way).
                await tenant.MissingAsync(id);
            }
        }

        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var (id, status) in statuses)
        {
            WriteStatus(w, id, status);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static async Task GetAsync(HttpContext context, string id)
    {
        var tenant = context.Tenant();

        var status = MayExist(tenant, id)
            ? await tenant.Sessions.GetStatusAsync(new SessionKey(tenant.Options.Name, id), context.RequestAborted)
            : null;
        if (status is null)
        {
            await OpenAIErrors.WriteAsync(context, 404, $"No session with id '{id}'.", param: "id", code: "session_not_found");
            return;
        }

        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        WriteStatus(w, id, status);
    }

    /// <summary>
    /// Whether to ask for the session at all. In cluster mode the session itself answers (a sharded session, on
    /// whichever node it lives, says whether it exists), because the replicated index may not yet have reached this
    /// node: a session created through one gateway a moment ago is found through every other.
    /// </summary>
    private static bool MayExist(TenantState tenant, string id) =>
        SessionKey.IsValidPart(id) && (tenant.HasSession(id) || tenant.Cluster is not null || tenant.Records is not null);

    public static async Task DeleteAsync(HttpContext context, string id)
    {
        var tenant = context.Tenant();

        var known = SessionKey.IsValidPart(id) && tenant.HasSession(id);
        // With persistence the session's recorded conversation is deleted too (also one that is not running now).
        bool existed;
        try
        {
            existed = MayExist(tenant, id) && await tenant.Sessions.CloseAsync(new SessionKey(tenant.Options.Name, id), forget: tenant.Records is not null, context.RequestAborted);
        }
        catch (InvalidOperationException e)
        {
            await TurnErrors.WriteAsync(context, TurnErrors.For(Rejection.PersistenceUnavailable, e.Message));
            return;
        }

        if (known || existed)
        {
            // Also when it had already stopped on its own (idle timeout): the tenant no longer has it, nor counts it.
            await tenant.RemoveSessionAsync(id);
        }

        if (!existed)
        {
            await OpenAIErrors.WriteAsync(context, 404, $"No session with id '{id}'.", param: "id", code: "session_not_found");
            return;
        }

        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "session.deleted");
        w.WriteBoolean("deleted", true);
        w.WriteEndObject();
    }

    private static void WriteStatus(Utf8JsonWriter w, string id, SessionStatus s)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "session");
        w.WriteString("transport", s.Transport.Name());
        w.WriteString("transport_reason", s.TransportReason);
        w.WriteStartObject("connection");
        w.WriteNumber("epoch", s.ConnectionEpoch);
        w.WriteString("state", s.ConnectionState.Name());
        if (s.ConnectionAge is { } age)
        {
            w.WriteNumber("age_seconds", Math.Round(age.TotalSeconds, 3));
        }
        else
        {
            w.WriteNull("age_seconds");
        }

        w.WriteEndObject();
        if (s.LastTurnChained is { } chained)
        {
            w.WriteBoolean("last_turn_chained", chained);
        }
        else
        {
            w.WriteNull("last_turn_chained");
        }

        w.WriteNumber("turns", s.Turns);
        w.WriteNumber("rotations", s.Rotations);
        w.WriteNumber("replays", s.Replays);
        w.WriteNumber("fallbacks", s.Fallbacks);
        w.WriteNumber("queue_length", s.QueueLength);

        // What the running turn's caller has been sent and not yet taken (bounded by the consumer window).
        w.WriteNumber("unread_events", s.UnreadEvents);
        w.WriteNumber("unread_bytes", s.UnreadBytes);
        w.WriteBoolean("busy", s.Busy);

        // Its next turn waits for the upstream's budget (rate limits shared by the credential's sessions): not running.
        w.WriteBoolean("waiting", s.WaitingForBudget);
        w.WriteString("turn_state", s.Busy ? "running" : s.WaitingForBudget ? "waiting" : s.QueueLength > 0 ? "queued" : "idle");
        w.WriteEndObject();
    }
}
