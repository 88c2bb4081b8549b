using System.Text;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// Any event this library does not model (hosted-tool progress, vendor extras such as
/// <c>codex.rate_limits</c>). Kept verbatim; clients ignore it.
/// </summary>
public sealed record UnknownEvent(string EventType, ReadOnlyMemory<byte> RawJson) : ServerEvent
{
    public override string Type => EventType;

    public string RawText => Encoding.UTF8.GetString(RawJson.Span);
}
