// The standalone simulator: `dotnet run --project src/Simulator -- --help` lists the flags.
return await Fantasy.Actors.Simulator.SimulatorCommand.RunAsync(args);
