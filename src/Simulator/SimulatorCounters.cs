using System.Collections.Concurrent;
using System.Text;

namespace Fantasy.Actors.Simulator;

/// <summary>What the simulator has seen. Thread-safe; read at any time.</summary>
public sealed class SimulatorCounters
{
    private readonly int keep;
    private readonly ConcurrentQueue<RecordedRequest> lastRequests = new();
    private long connectionsOpened;
    private long connectionsOpen;
    private long upgradesRefused;
    private long responseCreateFrames;
    private long chainedRequests;
    private long freshRequests;
    private long warmups;
    private long httpPosts;
    private long webSocketBytesReceived;
    private long httpBytesReceived;
    private long responsesCompleted;
    private long errorsSent;
    private IReadOnlyDictionary<string, string> lastHandshakeHeaders = new Dictionary<string, string>();

    internal SimulatorCounters(int keep) => this.keep = keep;

    public long ConnectionsOpened => Interlocked.Read(ref connectionsOpened);
    public long ConnectionsOpen => Interlocked.Read(ref connectionsOpen);
    public long UpgradesRefused => Interlocked.Read(ref upgradesRefused);
    public long ResponseCreateFrames => Interlocked.Read(ref responseCreateFrames);

    /// <summary>Requests with a <c>previous_response_id</c> that resolved (WebSocket or HTTP).</summary>
    public long ChainedRequests => Interlocked.Read(ref chainedRequests);

    /// <summary>Requests without a <c>previous_response_id</c>.</summary>
    public long FreshRequests => Interlocked.Read(ref freshRequests);
    public long Warmups => Interlocked.Read(ref warmups);
    public long HttpPosts => Interlocked.Read(ref httpPosts);
    public long WebSocketBytesReceived => Interlocked.Read(ref webSocketBytesReceived);
    public long HttpBytesReceived => Interlocked.Read(ref httpBytesReceived);
    public long ResponsesCompleted => Interlocked.Read(ref responsesCompleted);
    public long ErrorsSent => Interlocked.Read(ref errorsSent);

    /// <summary>Requests the organization's budget refused with 429 <c>rate_limit_exceeded</c>.</summary>
    public long RateLimitedRequests => Interlocked.Read(ref rateLimited);

    /// <summary>Requests the organization's budget admitted (counted only while a budget is set).</summary>
    public long BudgetAdmittedRequests => Interlocked.Read(ref budgetAdmitted);

    private long rateLimited;
    private long budgetAdmitted;
    private long apiCalls;

    /// <summary>Calls to the API's other endpoints (models, retrieve, input tokens, compact, conversations).</summary>
    public long ApiCalls => Interlocked.Read(ref apiCalls);

    internal void ApiCall() => Interlocked.Increment(ref apiCalls);

    internal void RateLimited() => Interlocked.Increment(ref rateLimited);

    internal void BudgetAdmitted() => Interlocked.Increment(ref budgetAdmitted);

    /// <summary>The headers of the most recent WebSocket upgrade request, as sent.</summary>
    public IReadOnlyDictionary<string, string> LastHandshakeHeaders => Volatile.Read(ref lastHandshakeHeaders);

    /// <summary>The most recent request bodies, oldest first.</summary>
    public IReadOnlyList<RecordedRequest> LastRequests => lastRequests.ToArray();

    internal void ConnectionOpened()
    {
        Interlocked.Increment(ref connectionsOpened);
        Interlocked.Increment(ref connectionsOpen);
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref connectionsOpen);
    internal void UpgradeRefused() => Interlocked.Increment(ref upgradesRefused);
    internal void Chained() => Interlocked.Increment(ref chainedRequests);
    internal void Fresh() => Interlocked.Increment(ref freshRequests);
    internal void Warmup() => Interlocked.Increment(ref warmups);
    internal void Completed() => Interlocked.Increment(ref responsesCompleted);
    internal void ErrorSent() => Interlocked.Increment(ref errorsSent);
    internal void Handshake(IReadOnlyDictionary<string, string> headers) => Volatile.Write(ref lastHandshakeHeaders, headers);

    internal void ResponseCreateFrame(ReadOnlySpan<byte> body)
    {
        Interlocked.Increment(ref responseCreateFrames);
        Record(FaultTransport.WebSocket, body);
    }

    internal void WebSocketBytes(int n) => Interlocked.Add(ref webSocketBytesReceived, n);

    internal void HttpPost(ReadOnlySpan<byte> body)
    {
        Interlocked.Increment(ref httpPosts);
        Interlocked.Add(ref httpBytesReceived, body.Length);
        Record(FaultTransport.Http, body);
    }

    private void Record(FaultTransport transport, ReadOnlySpan<byte> body)
    {
        if (keep <= 0)
        {
            return;
        }

        lastRequests.Enqueue(new RecordedRequest(transport, Encoding.UTF8.GetString(body), DateTimeOffset.UtcNow));
        while (lastRequests.Count > keep && lastRequests.TryDequeue(out _))
        {
        }
    }
}
