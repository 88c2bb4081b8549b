namespace Fantasy.Actors.Simulator;

/// <summary>One request body the simulator received.</summary>
public sealed record RecordedRequest(FaultTransport Transport, string Body, DateTimeOffset At);
