// The gateway (issue 7) is not built yet. Until it is, running the Host says so plainly and
// exits non-zero, rather than pretending to serve.
await Console.Error.WriteLineAsync(
    "Fantasy.Actors.Host: not yet available. The gateway is not built yet; see README.md, section Status. " +
    "The test suite runs with: dotnet test Fantasy.Actors.sln");
return 2;
