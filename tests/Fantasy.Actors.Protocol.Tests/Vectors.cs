using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.Protocol.Tests;

/// <summary>The recorded event streams and error bodies under Vectors/ (see Vectors/README.md).</summary>
internal static class Vectors
{
    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Vectors", name);

    /// <summary>One byte array per line: the payload of one WebSocket frame or SSE data line.</summary>
    public static IReadOnlyList<byte[]> Frames(string name) =>
        File.ReadAllLines(PathOf(name), Encoding.UTF8)
            .Where(l => l.Length > 0)
            .Select(Encoding.UTF8.GetBytes)
            .ToArray();

    public static IReadOnlyList<ServerEvent> Events(string name) =>
        Frames(name).Select(f => EventParser.Parse(f)).ToArray();

    public static TurnResult Fold(IEnumerable<ServerEvent> events)
    {
        var acc = new TurnAccumulator();
        foreach (var e in events)
        {
            acc.Apply(e);
        }

        return acc.ToResult();
    }

    public static TurnResult FoldFile(string name) => Fold(Events(name));

    /// <summary>The same stream framed as an SSE body, as an HTTP server sends it.</summary>
    public static byte[] AsSse(string name, bool withDone)
    {
        var sb = new StringBuilder();
        foreach (var line in File.ReadAllLines(PathOf(name), Encoding.UTF8).Where(l => l.Length > 0))
        {
            using var doc = JsonDocument.Parse(line);
            sb.Append("event: ").Append(doc.RootElement.GetProperty("type").GetString()).Append('\n');
            sb.Append("data: ").Append(line).Append("\n\n");
        }

        if (withDone)
        {
            sb.Append("data: [DONE]\n\n");
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static TurnResult FoldSse(byte[] body)
    {
        using var stream = new MemoryStream(body);
        return Fold(SseEventReader.Read(stream).ToList());
    }

    public static readonly string[] StreamFiles =
    [
        "text-answer.jsonl", "function-calls-parallel.jsonl", "reasoning-then-call.jsonl", "citations.jsonl",
        "refusal.jsonl", "failed.jsonl", "incomplete.jsonl", "incomplete-content-filter.jsonl",
        "sse-error-flat.jsonl", "legacy-response-done.jsonl", "unknown-events.jsonl",
        "empty-output-completed.jsonl", "truncated.jsonl", "warmup.jsonl",
    ];
}
