using System.Globalization;

namespace Fantasy.Actors.Packaging.Tests;

/// <summary>
/// The solution's packages, packed once for the specs: the shipped projects (what is under src/) copied out of the
/// repository with the build files they use, packed with a version of their own (so no package cache holds an older
/// build of it) into a feed folder, as <c>dotnet pack Fantasy.Actors.sln -c Release -o artifacts/packages</c> does.
/// </summary>
public sealed class PackagesFixture : IAsyncLifetime
{
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(8);

    public string Root { get; } = Commands.RepositoryRoot();

    public string Work { get; } = Path.Combine(Path.GetTempPath(), "fantasy-packaging-" + Guid.NewGuid().ToString("N")[..8]);

    public string Feed => Path.Combine(Work, "feed");

    /// <summary>The copy of the shipped sources (src, hocon and the build files) the packages were made from.</summary>
    public string Source => Path.Combine(Work, "source");

    public string Version { get; } = "1.0.0-ci." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "." + Random.Shared.Next(1000, 9999).ToString(CultureInfo.InvariantCulture);

    public async Task InitializeAsync()
    {
        var source = Source;
        Directory.CreateDirectory(source);
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", ".editorconfig" })
        {
            File.Copy(Path.Combine(Root, file), Path.Combine(source, file));
        }

        Commands.CopyTree(Path.Combine(Root, "src"), Path.Combine(source, "src"));
        Commands.CopyTree(Path.Combine(Root, "hocon"), Path.Combine(source, "hocon"));

        // The shipped projects only: a solution of its own, packed in one command.
        await Commands.RunAsync("dotnet", source, CommandTimeout, "new", "sln", "--format", "sln", "-n", "Packages");
        var projects = Directory.GetFiles(Path.Combine(source, "src"), "*.csproj", SearchOption.AllDirectories);
        await Commands.RunAsync("dotnet", source, CommandTimeout, ["sln", "Packages.sln", "add", .. projects]);
        await Commands.RunAsync("dotnet", source, CommandTimeout, "pack", "Packages.sln", "-c", "Release", "-o", Feed, $"-p:Version={Version}");

        // A consumer's NuGet settings: the feed folder beside the machine's own sources.
        File.WriteAllText(Path.Combine(Work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="fantasy-local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Work, recursive: true);
        }
        catch (IOException)
        {
            // A tool still exiting may hold a file; the temp folder is the system's to clean.
        }

        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PackagesGroup : ICollectionFixture<PackagesFixture>
{
    public const string Name = "packages";
}
