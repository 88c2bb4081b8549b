namespace Fantasy.Actors.Protocol;

/// <summary>A citation attached to output text; <see cref="Citation"/> is the typed view of the annotation.</summary>
public sealed record OutputTextAnnotationAdded(string? ItemId, int OutputIndex, int ContentIndex, int AnnotationIndex, Citation Annotation) : ServerEvent
{
    public override string Type => EventTypes.OutputTextAnnotationAdded;
}
