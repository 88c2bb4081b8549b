namespace Fantasy.Actors.Contract;

/// <summary>The transport a turn ran on.</summary>
public enum Transport
{
    /// <summary>It never went out.</summary>
    None,
    WebSocket,
    Http,
}
