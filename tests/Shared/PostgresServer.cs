using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fantasy.Actors.Testing;

/// <summary>
/// A throwaway PostgreSQL server for specs: a fresh cluster in a temp directory (<c>initdb</c>, trust
/// authentication), listening on a free loopback port with its socket in that directory, stopped and deleted on
/// dispose. Run as root, the tools run as the <c>postgres</c> user (<c>initdb</c> refuses root) on a directory it
/// owns. The binaries come from <c>/usr/lib/postgresql/*/bin</c> (the newest) or the PATH; <see cref="Find"/>
/// says why when there are none. Linked into the test projects that need a real database.
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    private readonly string bin;
    private readonly string root;
    private readonly string data;
    private bool running;

    private PostgresServer(string bin, string root, int port)
    {
        this.bin = bin;
        this.root = root;
        data = Path.Combine(root, "data");
        Port = port;
    }

    public int Port { get; }

    /// <summary>For Npgsql: the server's superuser on its default database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=5";

    /// <summary>The directory of the PostgreSQL server binaries, or null with the reason there is none.</summary>
    public static (string? Bin, string? Missing) Find()
    {
        var versions = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .ToList()
            : [];
        if (versions.Count > 0)
        {
            return (versions[0], null);
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .FirstOrDefault(p => File.Exists(Path.Combine(p, "initdb")) && File.Exists(Path.Combine(p, "pg_ctl")));
        return onPath is not null
            ? (onPath, null)
            : (null, "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or on the PATH; install the Debian package 'postgresql'");
    }

    /// <summary>Makes a new cluster and starts it.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var (bin, missing) = Find();
        if (bin is null)
        {
            throw new InvalidOperationException(missing);
        }

        var root = Path.Combine(Path.GetTempPath(), "fantasy-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var server = new PostgresServer(bin, root, FreePort());
        try
        {
            if (AsRoot)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", root]);
            }

            await server.ToolAsync("initdb", ["-D", server.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) on the same port and data.</summary>
    public async Task StartAgainAsync()
    {
        var options = $"-c listen_addresses=127.0.0.1 -p {Port} -k {root} -c fsync=off -c max_connections=200";
        await ToolAsync("pg_ctl", ["-D", data, "-l", Path.Combine(root, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
        running = true;
    }

    /// <summary>Stops the server at once (connections are cut), keeping its data.</summary>
    public async Task StopAsync()
    {
        if (running)
        {
            await ToolAsync("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "60", "stop"]);
            running = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A file the stopped server still held: the temp directory is the system's to clean.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool AsRoot => Environment.UserName == "root";

    private Task ToolAsync(string tool, string[] args) =>
        AsRoot
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, tool), .. args])
            : RunAsync(Path.Combine(bin, tool), args);

    private static async Task RunAsync(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
