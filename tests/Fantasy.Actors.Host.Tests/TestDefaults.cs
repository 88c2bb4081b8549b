using System.Runtime.CompilerServices;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// The gateways these specs start (in this process, or as processes that inherit its environment) keep their
/// conversations in memory unless a spec gives them a database: the Host's default SQLite file would otherwise be one
/// file under each working directory shared by every spec, each recovering the others' sessions. They start without
/// the warm-up (a second or so per gateway, over a hundred gateways); the spec that starts one as a person does has it.
/// </summary>
internal static class TestDefaults
{
    public const string PersistenceVariable = "Fantasy__Persistence__Provider";

    public const string WarmUpVariable = "Fantasy__Gateway__WarmUp";

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The test assembly's process-wide default, before any spec runs.")]
    internal static void InMemoryConversations()
    {
        Environment.SetEnvironmentVariable(PersistenceVariable, "None");
        Environment.SetEnvironmentVariable(WarmUpVariable, "false");
    }
}
