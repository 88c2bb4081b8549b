using Microsoft.Extensions.Configuration;

namespace Fantasy.Actors.Cluster;

/// <summary>Cluster mode's settings (<c>Fantasy:Cluster</c> in the Host).</summary>
public sealed class FantasyClusterOptions
{
    /// <summary>The role of the nodes that host sessions (and their upstream sockets).</summary>
    public const string SessionsRole = "sessions";

    /// <summary>The role of the nodes that take turns from clients (the gateway); with only this role a node reaches the sessions through a proxy.</summary>
    public const string GatewayRole = "gateway";

    /// <summary>On: the actor system joins a cluster and sessions are sharded over its <c>sessions</c> nodes. Default off.</summary>
    public bool Enabled { get; set; }

    /// <summary>The address other nodes reach this one at (remoting). Default 127.0.0.1.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>The remoting port; 0 = any free port (a node others join must have a fixed one).</summary>
    public int Port { get; set; }

    /// <summary>Seed nodes, <c>akka.tcp://fantasy@host:port</c> (the actor system is named <c>fantasy</c>); the first node lists itself.</summary>
    public IList<string> SeedNodes { get; init; } = [];

    /// <summary>This node's roles: <c>sessions</c>, <c>gateway</c>, or both (the default).</summary>
    public IList<string> Roles { get; init; } = [SessionsRole, GatewayRole];

    /// <summary>Whether this node hosts sessions (has the <c>sessions</c> role).</summary>
    public bool HostsSessions => Roles.Contains(SessionsRole, StringComparer.Ordinal);

    /// <summary>Reads <c>Enabled</c>, <c>Hostname</c>, <c>Port</c>, <c>SeedNodes:n</c> and <c>Roles:n</c> from a configuration section.</summary>
    public static FantasyClusterOptions? FromConfiguration(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (!section.GetChildren().Any())
        {
            return null;
        }

        var roles = section.GetSection("Roles").GetChildren().Select(c => c.Value!).Where(v => !string.IsNullOrWhiteSpace(v)).ToList();
        var unknown = roles.Where(r => r is not (SessionsRole or GatewayRole)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException($"Fantasy:Cluster:Roles may hold '{SessionsRole}' and '{GatewayRole}', not '{string.Join("', '", unknown)}'");
        }

        var port = section["Port"] is { Length: > 0 } p
            ? int.TryParse(p, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 0 and <= 65535 ? n : throw new InvalidOperationException($"Fantasy:Cluster:Port must be a port number (0 = any free port), not '{p}'")
            : 0;
        return new FantasyClusterOptions
        {
            Enabled = bool.TryParse(section["Enabled"], out var enabled) && enabled,
            Hostname = section["Hostname"] is { Length: > 0 } host ? host : "127.0.0.1",
            Port = port,
            SeedNodes = section.GetSection("SeedNodes").GetChildren().Select(c => c.Value!).Where(v => !string.IsNullOrWhiteSpace(v)).ToList(),
            Roles = roles.Count > 0 ? roles : [SessionsRole, GatewayRole],
        };
    }
}
