// fantasy-simulator: the standalone simulator (--help lists the flags).
return await Fantasy.Actors.Simulator.SimulatorCommand.RunAsync(args);
