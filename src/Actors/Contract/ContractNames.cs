namespace Fantasy.Actors.Contract;

/// <summary>Wire names of the contract's enums.</summary>
public static class ContractNames
{
    /// <summary>The outcome's lower-case name (metrics labels, span attributes).</summary>
    public static string Name(this TurnOutcome outcome) => outcome switch
    {
        TurnOutcome.Completed => "completed",
        TurnOutcome.Incomplete => "incomplete",
        TurnOutcome.Failed => "failed",
        TurnOutcome.Cancelled => "cancelled",
        _ => "rejected",
    };

    /// <summary><c>none</c>, <c>connecting</c> or <c>open</c>: the names the sessions API and the cluster's wire format use.</summary>
    public static string Name(this ConnectionState state) => state switch
    {
        ConnectionState.Open => "open",
        ConnectionState.Connecting => "connecting",
        _ => "none",
    };

    /// <summary>The state a <see cref="Name(ConnectionState)"/> names; <see cref="ConnectionState.None"/> for any other text.</summary>
    public static ConnectionState ParseConnectionState(string? name) => name switch
    {
        "open" => ConnectionState.Open,
        "connecting" => ConnectionState.Connecting,
        _ => ConnectionState.None,
    };

    /// <summary><c>websocket</c>, <c>http</c> or <c>none</c>: the names the gateway's headers and metrics use.</summary>
    public static string Name(this Transport transport) => transport switch
    {
        Transport.WebSocket => "websocket",
        Transport.Http => "http",
        _ => "none",
    };
}
