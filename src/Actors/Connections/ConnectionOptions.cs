using Fantasy.Actors.Configuration;

namespace Fantasy.Actors.Connections;

/// <summary>
/// Who the service is upstream: the API key and the optional OpenAI headers. <see cref="ToString"/>
/// never shows the key, so a record that ends up in a log line leaks nothing.
/// </summary>
public sealed record UpstreamCredentials(string ApiKey, string? Organization = null, string? Project = null)
{
    public override string ToString() =>
        $"UpstreamCredentials {{ ApiKey = ***, Organization = {Organization ?? "-"}, Project = {Project ?? "-"} }}";
}

/// <summary>Everything one <see cref="ConnectionActor"/> needs to open and run its socket.</summary>
internal sealed record ConnectionOptions(
    Uri Url,
    UpstreamCredentials Credentials,
    long Epoch,
    TimeSpan ConnectTimeout,
    long MaxMessageSize,
    TimeSpan KeepAliveInterval,
    TimeSpan TurnWatchdog,
    string? OpenAIBeta = null,
    string? UserAgent = null)
{
    /// <summary>How long a planned close waits for the server's close frame before the socket is dropped.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Keep each event's received JSON (<c>connection.keep-raw-events</c>).</summary>
    public bool KeepRawEvents { get; init; }

    public static ConnectionOptions From(FantasySettings settings, UpstreamCredentials credentials, long epoch, Uri? url = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new ConnectionOptions(
            url ?? settings.Upstream.WebSocketUrl,
            credentials,
            epoch,
            settings.Connection.ConnectTimeout,
            settings.Connection.MaxMessageSize,
            settings.Connection.KeepAliveInterval,
            settings.Connection.TurnWatchdog,
            settings.Upstream.OpenAIBeta,
            settings.Upstream.UserAgent)
        {
            KeepRawEvents = settings.Connection.KeepRawEvents,
        };
    }
}
