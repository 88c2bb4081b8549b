namespace Fantasy.Actors.Streams;

/// <summary>
/// The inbound stream's last element when reading or parsing failed. It travels in order behind the
/// events already read (a stream failure would overtake them: the acknowledging sink drops its buffer
/// on failure), and the stream completes after it.
/// </summary>
internal sealed record InboundFault(Exception Cause);
