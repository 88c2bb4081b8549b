using Fantasy.Actors.Simulator;
using Fantasy.Actors.Testing;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>A spec's own simulator (its last requests kept) and throwaway PostgreSQL server (null where none is installed).</summary>
public abstract class SimulatorAndPostgres : IAsyncLifetime
{
    protected ResponsesSimulator Sim { get; private set; } = null!;

    internal PostgresServer? Pg { get; private set; }

    public async Task InitializeAsync()
    {
        Sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 64 });
        if (PostgresServer.Find().Missing is null)
        {
            Pg = await PostgresServer.StartAsync();
        }
    }

    public virtual async Task DisposeAsync()
    {
        await Sim.DisposeAsync();
        if (Pg is not null)
        {
            await Pg.DisposeAsync();
        }
    }
}
