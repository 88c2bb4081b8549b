namespace Fantasy.Actors.Testing;

/// <summary>The checkout the tests run from (linked into the test projects that need it).</summary>
internal static class RepositoryRoot
{
    /// <summary>The folder above the test binaries that holds <c>Fantasy.Actors.sln</c>.</summary>
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Fantasy.Actors.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Fantasy.Actors.sln not found above " + AppContext.BaseDirectory);
    }
}
