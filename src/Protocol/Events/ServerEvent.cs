namespace Fantasy.Actors.Protocol;

/// <summary>
/// One server event: the payload of one WebSocket text frame or one SSE <c>data:</c> line.
/// Produced by <see cref="EventParser.Parse(System.ReadOnlySpan{byte})"/>.
/// </summary>
public abstract record ServerEvent
{
    /// <summary>The event's <c>type</c> string.</summary>
    public abstract string Type { get; }

    private long? sequenceNumber;
    private string? streamId;

    /// <summary><c>sequence_number</c>, counting from 0 per response; absent on some frames (WS errors, vendor extras).</summary>
    public long? SequenceNumber { get => sequenceNumber; init => sequenceNumber = value; }

    /// <summary>The lane (<c>stream_id</c>) a multiplexing server echoes; null on the default lane.</summary>
    public string? StreamId { get => streamId; init => streamId = value; }

    /// <summary>
    /// The event's JSON exactly as received, when the parser was asked to keep it (empty otherwise). Not part of
    /// equality: two events are equal when their fields are.
    /// </summary>
    public ReadOnlyMemory<byte> ReceivedJson { get; internal set; }

    /// <summary>The size of the event's JSON as received (0 for an event not made by the parser); not part of equality.</summary>
    public int ReceivedBytes { get; internal set; }

    /// <summary>Equality of the envelope; derived records add their own fields (<see cref="ReceivedJson"/> is left out).</summary>
    public virtual bool Equals(ServerEvent? other) =>
        ReferenceEquals(this, other)
        || (other is not null && EqualityContract == other.EqualityContract && sequenceNumber == other.sequenceNumber && streamId == other.streamId);

    public override int GetHashCode() => HashCode.Combine(EqualityContract, sequenceNumber, streamId);

    /// <summary>True for the events that end a turn (see <see cref="TurnAccumulator"/> for the one contextual case, <c>error</c>).</summary>
    public virtual bool IsResponseTerminal => false;

    /// <summary>
    /// The event as its received bytes only (<see cref="ReceivedEvent"/>), for holding it until it is passed on:
    /// the parsed fields of a delta or a <c>.done</c> event hold its text a second time (UTF-16, twice the bytes).
    /// Errors, Response events and events without received bytes are returned as they are.
    /// </summary>
    public ServerEvent AsReceived() =>
        this is ErrorEvent or ResponseEvent or UnknownEvent or ReceivedEvent || ReceivedJson.IsEmpty
            ? this
            : new ReceivedEvent(Type) { ReceivedJson = ReceivedJson, ReceivedBytes = ReceivedBytes, sequenceNumber = sequenceNumber, streamId = streamId };

    /// <summary>Sets the envelope fields on a freshly parsed event without copying it.</summary>
    internal ServerEvent WithEnvelope(long? sequence, string? lane)
    {
        sequenceNumber = sequence;
        streamId = lane;
        return this;
    }
}
