namespace Fantasy.Actors.Contract;

/// <summary>The state of a session's WebSocket connection.</summary>
public enum ConnectionState
{
    /// <summary>No connection: none was needed yet, it was closed when idle, or the conversation is on HTTP.</summary>
    None,

    /// <summary>Opening: the upgrade has not been answered yet.</summary>
    Connecting,

    /// <summary>Open and usable.</summary>
    Open,
}
