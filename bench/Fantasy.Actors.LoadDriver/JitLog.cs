using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Fantasy.Actors.LoadDriver;

/// <summary>Counts the methods the JIT compiles, by the type that declares them (the runtime's own events), to find code generated per operation.</summary>
internal sealed class JitLog : EventListener
{
    private readonly ConcurrentDictionary<string, int> counts = new(StringComparer.Ordinal);

    public bool Recording { get; set; }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x10);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!Recording || e.EventName is not "MethodLoadVerbose_V2" and not "MethodLoadVerbose_V1" and not "MethodLoadVerbose" || e.Payload is null)
        {
            return;
        }

        var ns = e.PayloadNames!.IndexOf("MethodNamespace") is var i and >= 0 ? e.Payload[i]?.ToString() : "?";
        var name = e.PayloadNames.IndexOf("MethodName") is var j and >= 0 ? e.Payload[j]?.ToString() : "?";
        counts.AddOrUpdate($"{ns}::{name}", 1, (_, c) => c + 1);
    }

    public void Print(int top)
    {
        foreach (var (method, count) in counts.OrderByDescending(c => c.Value).Take(top))
        {
            Console.WriteLine($"{count,6} × {method}");
        }
    }
}
