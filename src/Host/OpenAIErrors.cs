using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>Errors in the OpenAI shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAIErrors
{
    public static async Task WriteAsync(HttpContext context, int status, string message, string type = "invalid_request_error",
        string? param = null, string? code = null, TimeSpan? retryAfter = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await context.Response.Body.WriteAsync(Body(message, type, param, code), context.RequestAborted).ConfigureAwait(false);
    }

    public static byte[] Body(string message, string type, string? param, string? code)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            WriteNullable(w, "param", param);
            WriteNullable(w, "code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>An SSE <c>error</c> event in the flat shape the Responses API streams: type, code, message, param.</summary>
    public static byte[] SseErrorEvent(string message, string code, string? param)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "error");
            w.WriteString("code", code);
            w.WriteString("message", message);
            WriteNullable(w, "param", param);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>An upstream error passed on with its own status and fields.</summary>
    public static Task WriteUpstreamAsync(HttpContext context, UpstreamError error, bool retryable) =>
        WriteAsync(context, error.Status is >= 400 and < 600 ? error.Status.Value : 502, error.Message,
            error.Type ?? (retryable ? "server_error" : "invalid_request_error"), error.Param, error.Code,
            error.Status == 429 ? error.GetRetryAfter(DateTimeOffset.UtcNow) ?? TimeSpan.FromSeconds(1) : null);

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
