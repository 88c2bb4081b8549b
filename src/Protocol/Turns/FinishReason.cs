namespace Fantasy.Actors.Protocol;

/// <summary>Why the model stopped, as agent loops use it.</summary>
public enum FinishReason
{
    Stop,

    /// <summary>The output has function calls; wins over <see cref="Stop"/>.</summary>
    ToolCalls,

    /// <summary><c>max_output_tokens</c>.</summary>
    Length,
    ContentFilter,
    Error,

    /// <summary>An incomplete reason this library does not name.</summary>
    Other,
}
