namespace Fantasy.Actors.Streams;

/// <summary>
/// How a connection's parsing stage treats text-carrying events, set by the connection for each turn before the
/// turn's frame is sent (so every event of the turn is read after the write): a pass-through turn
/// (<see cref="Contract.TurnOptions.PassThrough"/>) gets them as their received bytes only.
/// </summary>
internal sealed class InboundParseMode
{
    private volatile bool textAsReceived;

    public bool TextAsReceived
    {
        get => textAsReceived;
        set => textAsReceived = value;
    }
}
