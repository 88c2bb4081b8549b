namespace Fantasy.Actors.Host.Tests;

/// <summary>The gateway's two check-then-act guards, each one atomic step, hammered from many threads.</summary>
public sealed class GateSpecs
{
    [Fact]
    public async Task No_turn_enters_once_the_drain_has_begun_and_the_drain_ends_with_the_last_turn()
    {
        var gate = new TurnGate();
        Assert.True(gate.TryEnter());
        Assert.True(gate.TryEnter());
        var drained = gate.StopAsync();
        Assert.True(gate.Stopping);
        Assert.False(gate.TryEnter());
        Assert.Equal(2, gate.Running);

        gate.Exit();
        Assert.False(drained.IsCompleted);
        gate.Exit();
        await drained.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, gate.Running);
    }

    [Fact]
    public async Task Entering_and_stopping_at_the_same_time_never_leave_a_turn_inside_after_the_drain()
    {
        for (var round = 0; round < 200; round++)
        {
            var gate = new TurnGate();
            var entered = 0;
            var start = new Barrier(5);
            var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < 50; i++)
                {
                    if (gate.TryEnter())
                    {
                        Interlocked.Increment(ref entered);
                        gate.Exit();
                    }
                }
            })).ToArray();
            start.SignalAndWait();
            var drained = gate.StopAsync();
            await Task.WhenAll(workers);

            // Every turn that entered has left; the drain is over and nothing can enter any more.
            await drained.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(0, gate.Running);
            Assert.False(gate.TryEnter());
        }
    }

    [Fact]
    public async Task A_tenant_at_its_limit_admits_exactly_the_limit_when_many_new_sessions_race()
    {
        var tenant = new TenantState(new TenantOptions("t", ["k"], null, null, MaxSessions: 10, MaxQueuedTurns: null), sessions: null!, maxResponseIds: 10);
        var admitted = 0;
        Parallel.For(0, 200, i =>
        {
            if (tenant.TryAddSession($"s{i}", max: 10))
            {
                Interlocked.Increment(ref admitted);
            }
        });

        Assert.Equal(10, admitted);
        Assert.Equal(10, tenant.SessionCount);
        Assert.False(tenant.TryAddSession("s-one-more", max: 10));
        await tenant.RemoveSessionAsync(tenant.SessionIds.First());
        Assert.True(tenant.TryAddSession("s-new", max: 10));
    }
}
