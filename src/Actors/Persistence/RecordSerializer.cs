using Akka.Actor;
using Akka.Serialization;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// The journal's serializer for session records: the sealed bytes as they are, a one-letter manifest per kind.
/// Bound in <c>fantasy.conf</c> (<c>akka.actor.serialization-bindings</c>).
/// </summary>
public sealed class RecordSerializer : SerializerWithStringManifest
{
    internal const string Turn = "t";
    private const string Snapshot = "s";
    private const string Owner = "o";

    /// <summary>Made by Akka from the serializer's configuration.</summary>
    public RecordSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <summary>The serializer's id in <c>akka.actor.serialization-identifiers</c>.</summary>
    public override int Identifier => 4712;

    /// <inheritdoc/>
    public override string Manifest(object o) => o switch
    {
        RecordedTurn => Turn,
        RecordedSnapshot => Snapshot,
        RecordedOwner => Owner,
        _ => throw new ArgumentException($"not a session record: {o?.GetType()}", nameof(o)),
    };

    /// <inheritdoc/>
    public override byte[] ToBinary(object obj) => obj is IRecordPayload p ? p.Bytes : throw new ArgumentException($"not a session record: {obj?.GetType()}", nameof(obj));

    /// <inheritdoc/>
    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        Turn => new RecordedTurn(bytes),
        Snapshot => new RecordedSnapshot(bytes),
        Owner => RecordedOwner.Instance,
        _ => throw new System.Runtime.Serialization.SerializationException($"unknown session record manifest '{manifest}'"),
    };
}
