using Fantasy.Samples.ChatClientToolLoop;

// An agent loop with two tools through IChatClient: Microsoft.Extensions.AI's function invocation over a Fantasy.Actors
// session, so every round after the first goes upstream as a delta on one warm WebSocket.
//   dotnet run --project samples/ChatClientToolLoop                       (the embedded simulator)
//   OPENAI_API_KEY=sk-... dotnet run --project samples/ChatClientToolLoop -- --model gpt-5-mini   (the real API)
return await ToolLoop.RunAsync(args, Console.Out);
