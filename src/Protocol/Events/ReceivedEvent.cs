namespace Fantasy.Actors.Protocol;

/// <summary>
/// An event kept only as the bytes it was received as (<see cref="ServerEvent.ReceivedJson"/>), made by
/// <see cref="ServerEvent.AsReceived"/> for a caller that passes events on unchanged. Its fields were read where
/// the turn was folded; parse <see cref="ServerEvent.ReceivedJson"/> again to read them.
/// </summary>
public sealed record ReceivedEvent(string EventType) : ServerEvent
{
    public override string Type => EventType;
}
