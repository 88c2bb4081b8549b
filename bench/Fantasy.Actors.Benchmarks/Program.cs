using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Fantasy.Actors.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Fantasy.Actors.Benchmarks.ParserBenchmarks).Assembly).Run(args);
