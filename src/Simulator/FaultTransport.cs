namespace Fantasy.Actors.Simulator;

/// <summary>Which transport a fault applies to.</summary>
public enum FaultTransport
{
    Any,
    WebSocket,
    Http,
}
