using System.Diagnostics;

namespace Fantasy.Actors.Host;

/// <summary>
/// Counts running turns, refuses new ones once shutdown has begun, says when the last one ended, and — once the drain
/// has waited long enough — tells the turns still running to give up (<see cref="Abandoned"/>).
/// </summary>
internal sealed class TurnGate : IDisposable
{
    /// <summary>Set in <see cref="state"/> once shutdown began; the other bits count the running turns.</summary>
    private const int StoppingBit = 1 << 30;
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource abandon = new();
    private int state;

    /// <summary>Cancelled when the drain timed out: a turn still running aborts its request, so the server can stop now.</summary>
    public CancellationToken Abandoned => abandon.Token;

    /// <summary>The drain is over without them: the running turns' requests are aborted (their turns cancelled).</summary>
    public void Abandon() => abandon.Cancel();

    public void Dispose() => abandon.Dispose();

    public bool Stopping => (Volatile.Read(ref state) & StoppingBit) != 0;

    public int Running => Volatile.Read(ref state) & ~StoppingBit;

    /// <summary>Stops taking turns; the task completes when no turn is running.</summary>
    public Task StopAsync()
    {
        if ((Interlocked.Or(ref state, StoppingBit) & ~StoppingBit) == 0)
        {
            drained.TrySetResult();
        }

        return drained.Task;
    }

    /// <summary>Enters a turn unless shutdown has begun: checking and counting are one step, so no turn slips in after the drain.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            var current = Volatile.Read(ref state);
            if ((current & StoppingBit) != 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref state, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref state) == StoppingBit)
        {
            drained.TrySetResult();
        }
    }
}

/// <summary>
/// On shutdown (SIGTERM, Ctrl+C, <c>StopApplication</c>): stop taking turns, then wait (bounded by
/// <c>Fantasy:Gateway:DrainTimeout</c>) for the running ones. It runs in the host's stopping phase, before any
/// hosted service stops, so the server still answers new requests (503) and the actors still run the turns.
/// </summary>
internal sealed class DrainService(TurnGate gate, GatewayOptions options, ILogger<DrainService> log) : IHostedLifecycleService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (gate.Stopping)
        {
            // The host is stopped a second time (disposal after a signal): the drain already ran.
            return;
        }

        var started = Stopwatch.GetTimestamp();
        Logs.DrainStarted(log, gate.Running, options.DrainTimeout);
        try
        {
            await gate.StopAsync().WaitAsync(options.DrainTimeout, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Logs.DrainCompleted(log, elapsed);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            Logs.DrainTimedOut(log, gate.Running, options.DrainTimeout);

            // Otherwise the server's own stop would wait up to the host's shutdown timeout for these requests.
            gate.Abandon();
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
