namespace Fantasy.Actors.Configuration;

/// <summary>Where the upstream Responses API is.</summary>
public sealed record UpstreamSettings(Uri BaseUrl, Uri WebSocketUrl, string? OpenAIBeta, string UserAgent)
{
    /// <summary>The WebSocket URL of a base URL: https→wss, http→ws, <c>/responses</c> appended.</summary>
    public static Uri DeriveWebSocketUrl(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        var scheme = baseUrl.Scheme switch
        {
            "https" => "wss",
            "http" => "ws",
            "wss" or "ws" => baseUrl.Scheme,
            _ => throw new ArgumentException($"unsupported scheme '{baseUrl.Scheme}' in {baseUrl}", nameof(baseUrl)),
        };
        var builder = new UriBuilder(baseUrl) { Scheme = scheme, Port = baseUrl.IsDefaultPort ? -1 : baseUrl.Port };
        builder.Path = builder.Path.TrimEnd('/') + "/responses";
        return builder.Uri;
    }
}
