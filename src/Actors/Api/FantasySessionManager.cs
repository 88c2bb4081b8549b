namespace Fantasy.Actors.Api;

/// <summary>Registry key of the session manager actor.</summary>
public sealed class FantasySessionManager
{
    private FantasySessionManager()
    {
    }
}
