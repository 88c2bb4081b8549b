using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// One error type for every shape the upstream uses, with its <see cref="Classification"/> and any
/// server-advised retry delay. The nested WebSocket shape is read from its nested object: reading it
/// as flat gives empty code and message.
/// </summary>
public sealed partial record UpstreamError
{
    public const string PreviousResponseNotFound = "previous_response_not_found";
    public const string ConnectionLimitReached = "websocket_connection_limit_reached";

    private static readonly IReadOnlyDictionary<string, string> NoHeaders =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    private static readonly HashSet<string> FatalCodes = new(StringComparer.Ordinal)
    {
        "insufficient_quota", "context_length_exceeded", "invalid_api_key", "invalid_prompt",
        "unsupported_parameter", "unsupported_value", "invalid_value", "model_not_found",
        "invalid_request_error", "invalid_organization", "invalid_project", "billing_hard_limit_reached",
        "websocket_stream_limit_reached",
    };

    private static readonly HashSet<string> RetryableCodes = new(StringComparer.Ordinal)
    {
        "server_error", "server_is_overloaded", "rate_limit_exceeded", "slow_down", "timeout",
    };

    private static readonly HashSet<string> RetryableTypes = new(StringComparer.Ordinal)
    {
        "server_error", "service_unavailable_error", "rate_limit_error",
    };

    public UpstreamError(
        ErrorOrigin origin,
        int? status,
        string? type,
        string? code,
        string message,
        string? param = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        Origin = origin;
        Status = status;
        Type = type;
        Code = code;
        Message = message;
        Param = param;
        Headers = headers ?? NoHeaders;
        Classification = Classify(origin, status, type, code, ShouldRetryHeader);
    }

    public ErrorOrigin Origin { get; }

    /// <summary>HTTP status (<c>status</c> or <c>status_code</c> on WebSocket frames); null when the server sent none.</summary>
    public int? Status { get; }

    /// <summary>The error's <c>type</c> (<c>invalid_request_error</c>, <c>tokens</c>, …).</summary>
    public string? Type { get; }
    public string? Code { get; }
    public string Message { get; }
    public string? Param { get; }

    /// <summary>Headers (HTTP reply, or <c>headers</c> on a WebSocket frame), case-insensitive.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    public string? StreamId { get; init; }
    public long? SequenceNumber { get; init; }
    public ErrorClass Classification { get; }

    public bool IsReplaySafe => Classification == ErrorClass.ReplaySafe;
    public bool IsRetryable => Classification == ErrorClass.Retryable;

    /// <summary>
    /// The upstream's rate limit (429 <c>rate_limit_exceeded</c>, or a 429 that is not fatal): transient, for every
    /// request on the credential until the reset. A 429 <c>insufficient_quota</c> is not one (it is fatal).
    /// </summary>
    public bool IsRateLimited =>
        Classification != ErrorClass.Fatal && (Code == "rate_limit_exceeded" || (Status == 429 && Origin != ErrorOrigin.RefusedUpgrade));

    /// <summary>True for a refused upgrade with 426: the endpoint has no WebSocket mode.</summary>
    public bool IsUpgradeRequired => Origin == ErrorOrigin.RefusedUpgrade && Status == 426;

    public string? RequestId => Headers.TryGetValue("x-request-id", out var v) ? v : null;

    /// <summary><c>x-should-retry</c>: true/false when the server said, else null.</summary>
    public bool? ShouldRetryHeader =>
        Headers.TryGetValue("x-should-retry", out var v)
            ? v.Trim().Equals("true", StringComparison.OrdinalIgnoreCase) ? true
            : v.Trim().Equals("false", StringComparison.OrdinalIgnoreCase) ? false : null
            : null;

    /// <summary>The server-advised delay, read as of now (see <see cref="GetRetryAfter(DateTimeOffset)"/>).</summary>
    public TimeSpan? RetryAfter => GetRetryAfter(DateTimeOffset.UtcNow);

    /// <summary>
    /// The delay the server asked for: <c>retry-after-ms</c>, else <c>Retry-After</c> (seconds or an HTTP
    /// date, measured from <paramref name="now"/>), else a "try again in 1.146s" hint in the message.
    /// </summary>
    public TimeSpan? GetRetryAfter(DateTimeOffset now)
    {
        if (Headers.TryGetValue("retry-after-ms", out var ms)
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        if (Headers.TryGetValue("retry-after", out var ra))
        {
            if (double.TryParse(ra, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParseExact(ra.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                var wait = at - now;
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        var m = TryAgainIn().Match(Message);
        if (m.Success && double.TryParse(m.Groups[1].ValueSpan, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
        {
            return m.Groups[2].ValueSpan.Equals("ms", StringComparison.OrdinalIgnoreCase)
                ? TimeSpan.FromMilliseconds(n)
                : TimeSpan.FromSeconds(n);
        }

        return null;
    }

    [GeneratedRegex(@"try again in (\d+(?:\.\d+)?)\s*(ms|s)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TryAgainIn();

    /// <summary>
    /// The classification rule: the two replay-safe codes first; then codes that are fatal whatever the
    /// status (a 429 <c>insufficient_quota</c> is not transient); a refused upgrade is replay-safe unless
    /// it is an auth refusal; <c>x-should-retry</c> decides when present; then status and code.
    /// </summary>
    internal static ErrorClass Classify(ErrorOrigin origin, int? status, string? type, string? code, bool? shouldRetry)
    {
        if (code is PreviousResponseNotFound or ConnectionLimitReached)
        {
            return ErrorClass.ReplaySafe;
        }

        if (code is not null && FatalCodes.Contains(code))
        {
            return ErrorClass.Fatal;
        }

        if (origin == ErrorOrigin.RefusedUpgrade)
        {
            return status is 401 or 403 ? ErrorClass.Fatal : ErrorClass.ReplaySafe;
        }

        if (origin == ErrorOrigin.Transport)
        {
            return ErrorClass.ReplaySafe;
        }

        if (shouldRetry is { } sr)
        {
            return sr ? ErrorClass.Retryable : ErrorClass.Fatal;
        }

        if (status is 408 or 409 or 429 or >= 500)
        {
            return ErrorClass.Retryable;
        }

        if (status is null && ((code is not null && RetryableCodes.Contains(code)) || (type is not null && RetryableTypes.Contains(type))))
        {
            return ErrorClass.Retryable;
        }

        return ErrorClass.Fatal;
    }

    /// <summary>Reads an <c>error</c> event in the WebSocket (nested) or SSE (flat) shape.</summary>
    public static UpstreamError FromErrorEvent(ReadOnlySpan<byte> utf8)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8.ToArray());
            return FromErrorEvent(doc.RootElement, utf8);
        }
        catch (Exception ex) when (ProtocolException.IsParseFailure(ex))
        {
            throw ProtocolException.From(ex, utf8);
        }
    }

    private static UpstreamError FromErrorEvent(JsonElement root, ReadOnlySpan<byte> utf8)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ProtocolException("an error event must be a JSON object", utf8);
        }

        var status = ReadStatus(root);
        var streamId = ReadString(root, "stream_id");
        long? seq = root.TryGetProperty("sequence_number", out var s) ? s.GetInt64() : null;

        if (root.TryGetProperty("error", out var nested) && nested.ValueKind == JsonValueKind.Object)
        {
            // WebSocket shape. Headers may sit at the top level or inside the nested error.
            var headers = ReadHeaders(root) ?? ReadHeaders(nested);
            return new UpstreamError(
                ErrorOrigin.WebSocketFrame,
                status ?? ReadStatus(nested),
                ReadString(nested, "type"),
                ReadString(nested, "code"),
                ReadString(nested, "message") ?? string.Empty,
                ReadString(nested, "param"),
                headers)
            {
                StreamId = streamId,
                SequenceNumber = seq,
            };
        }

        return new UpstreamError(
            status is null ? ErrorOrigin.SseEvent : ErrorOrigin.WebSocketFrame,
            status,
            null,
            ReadString(root, "code"),
            ReadString(root, "message") ?? string.Empty,
            ReadString(root, "param"),
            ReadHeaders(root))
        {
            StreamId = streamId,
            SequenceNumber = seq,
        };
    }

    /// <summary>
    /// Reads an HTTP error reply (<c>{"error":{…}}</c>). Never throws: a body that is not the JSON
    /// error shape (a proxy's HTML page, an empty body) keeps a bounded excerpt as the message.
    /// </summary>
    public static UpstreamError FromHttpResponse(
        int status,
        IEnumerable<KeyValuePair<string, string>>? headers,
        ReadOnlySpan<byte> body,
        bool refusedUpgrade = false)
    {
        var origin = refusedUpgrade ? ErrorOrigin.RefusedUpgrade : ErrorOrigin.HttpResponse;
        var headerMap = ToHeaderMap(headers);
        try
        {
            if (!body.IsEmpty)
            {
                using var doc = JsonDocument.Parse(body.ToArray());
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
                {
                    return new UpstreamError(origin, status, ReadString(e, "type"), ReadString(e, "code"),
                        ReadString(e, "message") ?? string.Empty, ReadString(e, "param"), headerMap);
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: fall through and keep the text.
        }

        var text = body.IsEmpty ? $"HTTP {status}" : new ProtocolException(string.Empty, body).Excerpt;
        return new UpstreamError(origin, status, null, null, text, null, headerMap);
    }

    /// <summary>The <c>error</c> of a <c>response.failed</c> (or failed <c>response.done</c>) Response.</summary>
    public static UpstreamError FromFailedResponse(ResponseSnapshot response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new UpstreamError(
            ErrorOrigin.FailedResponse,
            null,
            null,
            response.Error?.Code,
            response.Error?.Message ?? "the response failed without an error object");
    }

    /// <summary>A transport failure with no server answer (refused connection, DNS, TLS, timeout).</summary>
    public static UpstreamError FromTransport(string message) =>
        new(ErrorOrigin.Transport, null, null, "connection_failed", message);

    private static int? ReadStatus(JsonElement obj)
    {
        foreach (var name in (ReadOnlySpan<string>)["status", "status_code"])
        {
            if (obj.TryGetProperty(name, out var v))
            {
                if (v.ValueKind == JsonValueKind.Number)
                {
                    return v.GetInt32();
                }

                if (v.ValueKind == JsonValueKind.String && int.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
                {
                    return i;
                }
            }
        }

        return null;
    }

    /// <summary>Strings as strings; some backends send numeric codes, which are kept as their text.</summary>
    private static string? ReadString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.Null => null,
            _ => throw new JsonException($"'{name}' must be a string"),
        };
    }

    private static Dictionary<string, string>? ReadHeaders(JsonElement obj)
    {
        if (!obj.TryGetProperty("headers", out var h) || h.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in h.EnumerateObject())
        {
            map[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        }

        return map;
    }

    private static Dictionary<string, string> ToHeaderMap(IEnumerable<KeyValuePair<string, string>>? headers)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (headers is not null)
        {
            foreach (var (k, v) in headers)
            {
                map[k] = v;
            }
        }

        return map;
    }

    public bool Equals(UpstreamError? other) =>
        other is not null
        && Origin == other.Origin && Status == other.Status && Type == other.Type && Code == other.Code
        && Message == other.Message && Param == other.Param && StreamId == other.StreamId
        && Headers.Count == other.Headers.Count
        && Headers.All(kv => other.Headers.TryGetValue(kv.Key, out var v) && v == kv.Value);

    public override int GetHashCode() => HashCode.Combine(Origin, Status, Code, Message);

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Code ?? Type ?? "error");
        if (Status is { } st)
        {
            sb.Append(" (").Append(st.ToString(CultureInfo.InvariantCulture)).Append(')');
        }

        sb.Append(": ").Append(Message);
        if (Param is not null)
        {
            sb.Append(" [param ").Append(Param).Append(']');
        }

        return sb.ToString();
    }
}
