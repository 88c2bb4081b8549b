using System.Runtime.CompilerServices;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// The gateways these specs start (in this process, or as processes that inherit its environment) keep their
/// conversations in memory unless a spec gives them a database: the Host's default SQLite file would otherwise be one
/// file under each working directory shared by every spec, each recovering the others' sessions.
/// </summary>
internal static class TestDefaults
{
    public const string PersistenceVariable = "Fantasy__Persistence__Provider";

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The test assembly's process-wide default, before any spec runs.")]
    internal static void InMemoryConversations() => Environment.SetEnvironmentVariable(PersistenceVariable, "None");
}
