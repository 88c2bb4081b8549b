namespace Fantasy.Actors.Protocol;

/// <summary>Arguments complete. <see cref="Name"/> is present in the OpenAPI shape and absent in some captures.</summary>
public sealed record FunctionCallArgumentsDone(string? ItemId, int OutputIndex, string Arguments, string? Name) : ServerEvent
{
    public override string Type => EventTypes.FunctionCallArgumentsDone;
}
