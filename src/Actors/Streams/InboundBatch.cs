namespace Fantasy.Actors.Streams;

/// <summary>
/// Events (and at most one final <see cref="InboundFault"/>) that arrived while the actor was busy. The actor
/// calls <see cref="Release"/> once it has taken the elements out, so the batch can be filled again.
/// </summary>
internal sealed class InboundBatch
{
    private readonly List<object> elements = new(4);
    private readonly Spare<InboundBatch>? owner;

    private InboundBatch(Spare<InboundBatch>? owner) => this.owner = owner;

    public IReadOnlyList<object> Elements => elements;

    /// <summary>A batch holding <paramref name="first"/>: the spare one if there is one, else a new one that returns to <paramref name="spares"/>.</summary>
    public static InboundBatch Start(Spare<InboundBatch>? spares, object first) =>
        (spares?.Take() ?? new InboundBatch(spares)).Add(first);

    public InboundBatch Add(object element)
    {
        elements.Add(element);
        return this;
    }

    /// <summary>Empties the batch and hands it back for reuse; it must not be touched after that.</summary>
    public void Release()
    {
        elements.Clear();
        owner?.Put(this);
    }
}
