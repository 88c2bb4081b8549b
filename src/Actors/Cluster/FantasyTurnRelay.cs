namespace Fantasy.Actors.Cluster;

/// <summary>Registry key of the node's turn relay (cluster mode).</summary>
public sealed class FantasyTurnRelay
{
    private FantasyTurnRelay()
    {
    }
}
