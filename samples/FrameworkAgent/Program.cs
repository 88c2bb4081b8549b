using Fantasy.Samples.FrameworkAgent;

// A Microsoft Agent Framework agent (ChatClientAgent) over Fantasy.Actors: one agent session, several turns, every
// turn after the first a delta on one warm WebSocket.
//   dotnet run --project samples/FrameworkAgent                        (the embedded simulator)
//   OPENAI_API_KEY=sk-... dotnet run --project samples/FrameworkAgent -- --model gpt-5-mini   (the real API)
return await AgentSample.RunAsync(args, Console.Out);
