using System.Text;
using System.Text.Json.Nodes;

namespace Fantasy.Actors.Benchmarks;

/// <summary>The frames the benchmarks parse, taken from the recorded vectors.</summary>
internal static class Frames
{
    private static string[] Lines(string file) =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Vectors", file)).Where(l => l.Length > 0).ToArray();

    /// <summary>One <c>response.output_text.delta</c> frame as the server sends it (with obfuscation and logprobs).</summary>
    public static byte[] TextDelta() =>
        Encoding.UTF8.GetBytes(Lines("text-answer.jsonl").First(l => l.Contains("\"response.output_text.delta\"", StringComparison.Ordinal)));

    /// <summary>
    /// A <c>response.completed</c> frame of about 20 KB: the recorded completion, with its output grown
    /// to a realistic tool-heavy turn (assistant text, many function calls).
    /// </summary>
    public static byte[] LargeCompleted()
    {
        var completed = JsonNode.Parse(Lines("text-answer.jsonl").Last())!;
        var calls = Lines("function-calls-parallel.jsonl")
            .Select(l => JsonNode.Parse(l)!)
            .Where(n => (string?)n["type"] == "response.output_item.done")
            .Select(n => n["item"]!)
            .ToArray();
        var output = completed["response"]!["output"]!.AsArray();
        var message = output[0]!;
        var i = 0;
        while (Encoding.UTF8.GetByteCount(completed.ToJsonString()) < 20_000)
        {
            var item = (i % 3 == 0 ? message : calls[i % calls.Length]).DeepClone();
            item["id"] = $"{item["id"]}_{i}";
            output.Add(item);
            i++;
        }

        return Encoding.UTF8.GetBytes(completed.ToJsonString());
    }
}
