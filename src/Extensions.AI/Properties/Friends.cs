using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Fantasy.Actors.Extensions.AI.Tests")]
