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
    private readonly TaskCompletionSource done;
    private IActorRef connection = ActorRefs.Nobody;
    private string? previous;
    private int turn;
    private long started;

    public ConversationDriver(ConnectionOptions options, WebSocketConnector connector, int index, int count, string message, Stats? stats, TaskCompletionSource done)
    {
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
            case TurnEvent:
                stats?.Event();
                break;
            case Connected:
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
                    connection.Tell(Close.Instance);
                }

                break;
            case TurnSent:
                break;
            case ConnectFailed or TurnInterrupted or TurnRefused or IdleError:
                stats?.Error();
                Console.Error.WriteLine($"conversation {index}: {msg}");
                break;
            case ConnectionClosed:
                done.TrySetResult();
                Context.Stop(Self);
                break;
        }
    }

    private void Next()
    {
        started = Stopwatch.GetTimestamp();
        var frame = Request.ToWebSocketFrame(previous, [UserItem(index, turn, message)]);
        connection.Tell(new StartTurn($"t{turn}", frame, Self));
    }
}
