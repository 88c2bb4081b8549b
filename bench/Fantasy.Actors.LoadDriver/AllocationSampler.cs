using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// Samples the runtime's allocations by type (the GC's <c>AllocationTick</c> event, raised about every 100 KB
/// allocated), so that a run can say which objects make up its bytes per event.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int AllocationTick = 10;
    private const int HeapStats = 4;
    private const int MarkWithType = 202;
    private static readonly string[] MarkRoots = ["stack", "finalize queue", "handles", "older generations (cards)", "sized refs", "overflow", "dependent handles", "new finalize queue", "steal"];
    private readonly ConcurrentDictionary<int, long> markedByRoot = new();
    private readonly ConcurrentDictionary<string, long> bytesByType = new();
    private volatile bool recording;
    private long gcs;
    private long promoted0;
    private long promoted1;

    public void Start() => recording = true;

    public void Stop() => recording = false;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!recording || e.Payload is null || e.PayloadNames is null)
        {
            return;
        }

        if (e.EventId == HeapStats)
        {
            Interlocked.Increment(ref gcs);
            Interlocked.Add(ref promoted0, Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("TotalPromotedSize0")], CultureInfo.InvariantCulture));
            Interlocked.Add(ref promoted1, Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("TotalPromotedSize1")], CultureInfo.InvariantCulture));
            return;
        }

        if (e.EventId == MarkWithType)
        {
            var root = Convert.ToInt32(e.Payload[e.PayloadNames.IndexOf("Type")], CultureInfo.InvariantCulture);
            var bytes = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("Bytes")], CultureInfo.InvariantCulture);
            markedByRoot.AddOrUpdate(root, bytes, (_, sum) => sum + bytes);
            return;
        }

        if (e.EventId != AllocationTick)
        {
            return;
        }

        var type = e.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0
            ? Convert.ToInt64(e.Payload[a], CultureInfo.InvariantCulture)
            : 100_000;
        bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }

    /// <summary>What the collections kept: bytes promoted out of generations 0 and 1, per collection.</summary>
    public string Promotions() => string.Create(CultureInfo.InvariantCulture,
        $"GCs seen {gcs}, promoted per GC: from gen0 {promoted0 / (double)Math.Max(1, gcs) / 1e6:F2} MB, from gen1 {promoted1 / (double)Math.Max(1, gcs) / 1e6:F2} MB");

    /// <summary>What the collections marked, by where the marking started (per collection).</summary>
    public string Marked() => "marked per GC by root: " + string.Join(", ", markedByRoot.OrderBy(kv => kv.Key).Select(kv =>
        string.Create(CultureInfo.InvariantCulture, $"{(kv.Key < MarkRoots.Length ? MarkRoots[kv.Key] : kv.Key.ToString(CultureInfo.InvariantCulture))} {kv.Value / (double)Math.Max(1, gcs) / 1e6:F2} MB")));

    /// <summary>The types with the most sampled bytes, as bytes per event.</summary>
    public IEnumerable<string> Top(int count, long events) =>
        bytesByType.OrderByDescending(kv => kv.Value).Take(count)
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"  {kv.Value / (double)Math.Max(1, events),8:F1} B/event  {kv.Key}"));
}
