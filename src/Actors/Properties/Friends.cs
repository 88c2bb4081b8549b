using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Fantasy.Actors.Tests")]
[assembly: InternalsVisibleTo("Fantasy.Actors.Benchmarks")]
[assembly: InternalsVisibleTo("Fantasy.Actors.LoadDriver")]
