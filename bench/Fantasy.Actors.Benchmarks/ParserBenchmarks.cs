using System.ClientModel.Primitives;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Fantasy.Actors.Protocol;
using OpenAI.Responses;

namespace Fantasy.Actors.Benchmarks;

/// <summary>
/// Parsing one server event: this library's <see cref="EventParser"/> against the official OpenAI .NET
/// SDK's streaming update types, and a bare <see cref="Utf8JsonReader"/> scan as the floor.
/// </summary>
[MemoryDiagnoser]
public class ParserBenchmarks
{
    private byte[] delta = [];
    private byte[] completed = [];
    private BinaryData deltaData = BinaryData.Empty;
    private BinaryData completedData = BinaryData.Empty;

    [GlobalSetup]
    public void Setup()
    {
        delta = Frames.TextDelta();
        completed = Frames.LargeCompleted();
        deltaData = BinaryData.FromBytes(delta);
        completedData = BinaryData.FromBytes(completed);
    }

    [Benchmark(Baseline = true, Description = "EventParser: output_text.delta")]
    public ServerEvent Delta() => EventParser.Parse(delta);

    [Benchmark(Description = "OpenAI SDK 2.15.0: output_text.delta")]
    public object? SdkDelta() =>
        ModelReaderWriter.Read<StreamingResponseUpdate>(deltaData, ModelReaderWriterOptions.Json);

    [Benchmark(Description = "Utf8JsonReader scan: output_text.delta")]
    public string? ScanDelta()
    {
        var reader = new Utf8JsonReader(delta);
        string? found = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                found = reader.GetString();
            }
        }

        return found;
    }

    [Benchmark(Description = "EventParser: response.completed ~20 KB")]
    public ServerEvent Completed() => EventParser.Parse(completed);

    [Benchmark(Description = "OpenAI SDK 2.15.0: response.completed ~20 KB")]
    public object? SdkCompleted() =>
        ModelReaderWriter.Read<StreamingResponseUpdate>(completedData, ModelReaderWriterOptions.Json);
}
