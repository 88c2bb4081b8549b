using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Simulator;

/// <summary>What the simulated service makes of a client's message before any model work: the request, or its error.</summary>
internal static class CreateFrames
{
    /// <summary>
    /// A client's WebSocket message as a <c>response.create</c> request, or the error the service answers it with:
    /// not JSON, not an object, no or another <c>type</c>, an invalid body, or a parameter WebSocket mode refuses.
    /// </summary>
    public static (ResponseRequest? Request, SimError? Error) Parse(byte[] frame)
    {
        string? type;
        try
        {
            var reader = new Utf8JsonReader(frame);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, SimError.Invalid("Expected a JSON object with a 'type'."));
            }

            type = doc.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        }
        catch (JsonException ex)
        {
            return (null, SimError.Invalid($"Invalid JSON: {ex.Message}"));
        }

        if (type != "response.create")
        {
            return (null, SimError.Invalid(
                type is null ? "Missing required parameter: 'type'." : $"Unsupported event type '{type}'. Supported: 'response.create'.",
                "type"));
        }

        try
        {
            var request = ResponseRequest.Parse(frame);
            var invalid = SimulatorEngine.Validate(request, webSocket: true);
            return invalid is null ? (request, null) : (null, invalid);
        }
        catch (ProtocolException ex)
        {
            return (null, SimError.Invalid(ex.Message));
        }
    }

    /// <summary>The error <c>type</c> the service gives an HTTP status.</summary>
    public static string ErrorType(int status) => status switch
    {
        429 => "rate_limit_error",
        503 => "service_unavailable_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}
