namespace Fantasy.Actors.Simulator;

/// <summary>
/// The fault and latency knobs of a running simulator. Each "next K" fault is consumed by the next K
/// upgrades, posts or turns it applies to. Thread-safe; change it at any time.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The idle-push token sources have no timer and are never disposed (a connection may be reading one).")]
public sealed class SimulatorFaults
{
    private readonly object gate = new();
    private readonly List<(HttpFault Fault, int Left)> upgradeRefusals = [];
    private readonly List<(HttpFault Fault, int Left)> postFailures = [];
    private readonly List<(FaultTransport Transport, Func<TurnFaults, TurnFaults> Apply, int Left)> turnFaults = [];
    private long perEventTicks;
    private long firstEventTicks;
    private int fragmentBytes;

    internal SimulatorFaults(SimulatorOptions options)
    {
        PerEventLatency = options.PerEventLatency;
        FirstEventLatency = options.FirstEventLatency;
    }

    public TimeSpan PerEventLatency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref perEventTicks));
        set => Interlocked.Exchange(ref perEventTicks, value.Ticks);
    }

    /// <summary>Split every WebSocket message into frames of at most this many bytes (0: one frame per message).</summary>
    public int FragmentBytes
    {
        get => Volatile.Read(ref fragmentBytes);
        set => Volatile.Write(ref fragmentBytes, Math.Max(0, value));
    }

    public TimeSpan FirstEventLatency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref firstEventTicks));
        set => Interlocked.Exchange(ref firstEventTicks, value.Ticks);
    }

    private CancellationTokenSource idlePush = new();

    /// <summary>Cancelled when <see cref="PushLimitErrorToIdleSockets"/> is called; a new one each time.</summary>
    internal CancellationToken IdlePush => Volatile.Read(ref idlePush).Token;

    /// <summary>
    /// Every socket open now gets the connection-limit <c>error</c> pushed unsolicited and is closed, as the real
    /// service does when its 60 minutes run out between turns: at once if it is idle, else as soon as its running
    /// response (and any request already waiting) is done. Sockets opened later are not touched.
    /// </summary>
    public void PushLimitErrorToIdleSockets()
    {
        var old = Interlocked.Exchange(ref idlePush, new CancellationTokenSource());

        // Not disposed: a connection may be reading its token right now. Without a timer it holds nothing to free.
        old.Cancel();
    }

    /// <summary>Refuse the next <paramref name="count"/> upgrades (426, 429 + Retry-After, 500, …).</summary>
    public void RefuseUpgrades(HttpFault fault, int count = 1) => Add(upgradeRefusals, fault, count);

    /// <summary>Answer the next <paramref name="count"/> HTTP POSTs with an error reply.</summary>
    public void FailHttpPosts(HttpFault fault, int count = 1) => Add(postFailures, fault, count);

    /// <summary>End the stream after <paramref name="events"/> events of each of the next <paramref name="responses"/> responses (see <see cref="TurnFaults.CloseAfterEvents"/>).</summary>
    public void CloseAfterEvents(int events, int responses = 1, FaultTransport transport = FaultTransport.Any) =>
        AddTurn(transport, responses, f => f with { CloseAfterEvents = events });

    /// <summary>Answer the next <paramref name="turns"/> requests with an error instead of a response.</summary>
    public void SendError(int status, string code, string message, int turns = 1, FaultTransport transport = FaultTransport.Any) =>
        AddTurn(transport, turns, f => f with { Error = (status, code, message) });

    /// <summary>End the next <paramref name="turns"/> responses with <c>response.failed</c>.</summary>
    public void FailResponses(string code, int turns = 1, FaultTransport transport = FaultTransport.Any) =>
        AddTurn(transport, turns, f => f with { FailWithCode = code });

    public void SendMalformedFrame(int turns = 1, FaultTransport transport = FaultTransport.Any) =>
        AddTurn(transport, turns, f => f with { MalformedFrame = true });

    public void SendOversizedFrame(int bytes, int turns = 1, FaultTransport transport = FaultTransport.Any) =>
        AddTurn(transport, turns, f => f with { OversizedFrameBytes = bytes });

    /// <summary>The next <paramref name="turns"/> HTTP streams send a flat SSE <c>error</c> event after <paramref name="afterEvents"/> events and end.</summary>
    public void SendSseError(int afterEvents, string code, string message, int turns = 1) =>
        AddTurn(FaultTransport.Http, turns, f => f with { SseError = (afterEvents, code, message) });

    public void Stall(TimeSpan duration, int turns = 1, FaultTransport transport = FaultTransport.Any) =>
        AddTurn(transport, turns, f => f with { Stall = duration });

    /// <summary>Forget every pending fault and reset latency to zero.</summary>
    public void Clear()
    {
        lock (gate)
        {
            upgradeRefusals.Clear();
            postFailures.Clear();
            turnFaults.Clear();
        }

        PerEventLatency = TimeSpan.Zero;
        FirstEventLatency = TimeSpan.Zero;
        FragmentBytes = 0;
    }

    internal HttpFault? TakeUpgradeRefusal() => Take(upgradeRefusals);

    internal HttpFault? TakePostFailure() => Take(postFailures);

    internal TurnFaults TakeTurnFaults(FaultTransport transport)
    {
        lock (gate)
        {
            if (turnFaults.Count == 0)
            {
                return TurnFaults.None;
            }

            var result = TurnFaults.None;
            for (var i = 0; i < turnFaults.Count; i++)
            {
                var (t, apply, left) = turnFaults[i];
                if (t != FaultTransport.Any && t != transport)
                {
                    continue;
                }

                result = apply(result);
                turnFaults[i] = (t, apply, left - 1);
            }

            turnFaults.RemoveAll(f => f.Left <= 0);
            return result;
        }
    }

    private void Add(List<(HttpFault, int)> list, HttpFault fault, int count)
    {
        ArgumentNullException.ThrowIfNull(fault);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        lock (gate)
        {
            list.Add((fault, count));
        }
    }

    private void AddTurn(FaultTransport transport, int count, Func<TurnFaults, TurnFaults> apply)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        lock (gate)
        {
            turnFaults.Add((transport, apply, count));
        }
    }

    private HttpFault? Take(List<(HttpFault Fault, int Left)> list)
    {
        lock (gate)
        {
            if (list.Count == 0)
            {
                return null;
            }

            var (fault, left) = list[0];
            if (left <= 1)
            {
                list.RemoveAt(0);
            }
            else
            {
                list[0] = (fault, left - 1);
            }

            return fault;
        }
    }
}
