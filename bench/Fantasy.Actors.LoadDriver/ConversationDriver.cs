using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Connections.ConnectionProtocol;

namespace Fantasy.Actors.LoadDriver;

/// <summary>Counters shared by every conversation of a run.</summary>
internal sealed class Stats(int turns)
{
    private long events;
    private long errors;

    public double[] Latencies { get; } = new double[turns];

    public long Events => Interlocked.Read(ref events);

    public long Errors => Interlocked.Read(ref errors);

    public void Event() => Interlocked.Increment(ref events);

    public void Error() => Interlocked.Increment(ref errors);

    public void Turn(int slot, TimeSpan latency, bool ok)
    {
        Latencies[slot] = latency.TotalMilliseconds;
        if (!ok)
        {
            Error();
        }
    }
}

/// <summary>
/// Holds every conversation of the measured run until all have connected, then lets them start together.
/// </summary>
internal sealed class StartGate(int count)
{
    private readonly TaskCompletionSource allReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int waiting = count;

    /// <summary>Every conversation has connected (or failed to).</summary>
    public Task AllReady => allReady.Task;

    /// <summary>One conversation connected (or failed to); the task completes when the gate opens.</summary>
    public Task Arrived()
    {
        if (Interlocked.Decrement(ref waiting) == 0)
        {
            allReady.TrySetResult();
        }

        return opened.Task;
    }

    public void Open() => opened.TrySetResult();
}

/// <summary>
/// Parent and reply-to of one <see cref="ConnectionActor"/>: runs <c>count</c> chained turns on it, then
/// closes it. The actor-path counterpart of the plain receive loop.
/// </summary>
internal sealed class ConversationDriver : UntypedActor
{
    public static readonly ResponseRequest Request = new() { Model = "load", Instructions = "be brief", Store = false };

    private readonly ConnectionOptions options;
    private readonly WebSocketConnector connector;
    private readonly int index;
    private readonly int count;
    private readonly string message;
    private readonly Stats? stats;
    private readonly StartGate? gate;
    private readonly TaskCompletionSource done;
    private IActorRef connection = ActorRefs.Nobody;
    private string? previous;
    private int turn;
    private long started;

    public ConversationDriver(ConnectionOptions options, WebSocketConnector connector, int index, int count, string message, Stats? stats, StartGate? gate, TaskCompletionSource done)
    {
        this.gate = gate;
        this.options = options;
        this.connector = connector;
        this.index = index;
        this.count = count;
        this.message = message;
        this.stats = stats;
        this.done = done;
    }

    public static JsonElement UserItem(int conversation, int turn, string message) =>
        JsonDocument.Parse($$"""{"type":"message","role":"user","content":"conversation {{conversation}} turn {{turn}}: {{message}}"}""").RootElement;

    protected override void PreStart() => connection = Context.ActorOf(ConnectionActor.Props(options, Self, connector));

    protected override void OnReceive(object msg)
    {
        switch (msg)
        {
            case UpstreamEventReceived:
                stats?.Event();
                break;
            case Connected when gate is null:
                Next();
                break;
            case Connected:
                gate.Arrived().PipeTo(Self, Self, static () => GateOpened.Instance);
                break;
            case GateOpened:
                Next();
                break;
            case TurnEnded ended:
                var ok = ended.Result.Status == TurnStatus.Completed;
                stats?.Turn(index * count + turn, Stopwatch.GetElapsedTime(started), ok);
                previous = ok ? ended.Result.ResponseId : null;
                turn++;
                if (turn < count)
                {
                    Next();
                }
                else
                {
                    // The conversation is done at its last turn's end, as the plain loop's is (which then aborts its
                    // socket); the close handshake that follows is not part of the measured time.
                    done.TrySetResult();
                    connection.Tell(Close.Instance);
                }

                break;
            case TurnSent:
                break;
            case ConnectFailed:
                stats?.Error();
                gate?.Arrived();
                Console.Error.WriteLine($"conversation {index}: {msg}");
                break;
            case TurnInterrupted or TurnRefused or IdleError:
                stats?.Error();
                Console.Error.WriteLine($"conversation {index}: {msg}");
                break;
            case ConnectionClosed:
                done.TrySetResult();
                Context.Stop(Self);
                break;
        }
    }

    private sealed class GateOpened
    {
        public static readonly GateOpened Instance = new();
    }

    private void Next()
    {
        started = Stopwatch.GetTimestamp();
        var frame = Request.ToWebSocketFrame(previous, [UserItem(index, turn, message)]);
        connection.Tell(new StartTurn($"t{turn}", frame, Self));
    }
}
