namespace Fantasy.Actors.Persistence;

/// <summary>What the session journal writes: bytes the journal stores as they are (<see cref="RecordSerializer"/>).</summary>
internal interface IRecordPayload
{
    byte[] Bytes { get; }
}

/// <summary>One recorded turn (a sealed <see cref="TranscriptChange"/>).</summary>
internal sealed record RecordedTurn(byte[] Bytes) : IRecordPayload;

/// <summary>A turn not recorded whose response id's owner is (its tag): nothing to recover from it.</summary>
internal sealed record RecordedOwner(byte[] Bytes) : IRecordPayload
{
    public static readonly RecordedOwner Instance = new([]);
}

/// <summary>A snapshot of a session's record (a sealed <see cref="RecordSnapshot"/>).</summary>
internal sealed record RecordedSnapshot(byte[] Bytes) : IRecordPayload;
