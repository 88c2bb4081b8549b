using Fantasy.Actors.Configuration;

namespace Fantasy.Actors.Connections;

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
