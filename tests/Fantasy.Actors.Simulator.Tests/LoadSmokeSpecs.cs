using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Simulator.Tests;

public sealed class LoadSmokeSpecs
{
    [Fact]
    public async Task Two_hundred_connections_times_ten_chained_turns_complete_without_errors()
    {
        const int connections = 200;
        const int turns = 10;
        await using var sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 0 });

        async Task<int> ConversationAsync(int n)
        {
            await using var client = await SimClient.ConnectAsync(sim);
            string? previous = null;
            var contextItems = 0;
            for (var t = 0; t < turns; t++)
            {
                var r = await client.TurnAsync(Request(User($"conversation {n} turn {t}")), previous);
                Assert.Equal(TurnStatus.Completed, r.Status);

                // Each turn adds its user message and one assistant message to the server-side context.
                contextItems += 1;
                Assert.Equal($"ok: {contextItems}", r.Text);
                contextItems += 1;
                previous = r.ResponseId;
            }

            await client.CloseAsync();
            return turns;
        }

        var done = await Task.WhenAll(Enumerable.Range(0, connections).Select(n => Task.Run(() => ConversationAsync(n))));

        Assert.Equal(connections * turns, done.Sum());
        Assert.Equal(connections * turns, sim.Counters.ResponsesCompleted);
        Assert.Equal(connections * (turns - 1), sim.Counters.ChainedRequests);
        Assert.Equal(0, sim.Counters.ErrorsSent);
        Assert.Equal(connections, sim.Counters.ConnectionsOpened);
    }
}
