namespace Fantasy.Actors.Protocol;

/// <summary>A function call the model asked for. Tool results are keyed by <see cref="CallId"/>.</summary>
public sealed record FunctionCall(string CallId, string Name, string Arguments, string? ItemId);
