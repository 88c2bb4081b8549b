using System.Diagnostics;
using System.Text.Json;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The README's run command, as a person runs it, answers /healthz with its embedded simulator.</summary>
public sealed class RunCommandSpecs
{
    private static string RepositoryRoot()
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

    [Fact]
    public async Task Dotnet_run_of_the_host_serves_healthz_with_the_embedded_simulator()
    {
        // `dotnet run --project src/Host`, already built by this test run (--no-build), on a free port.
        var start = new ProcessStartInfo("dotnet", "run --no-build --project src/Host -- --urls http://127.0.0.1:0")
        {
            WorkingDirectory = RepositoryRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Remove("ASPNETCORE_URLS");
        using var process = Process.Start(start)!;
        try
        {
            var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    ready.TrySetException(new InvalidOperationException("the host exited before it was ready:\n" + output));
                    return;
                }

                lock (output)
                {
                    output.AppendLine(e.Data);
                }

                if (e.Data.StartsWith("READY ", StringComparison.Ordinal))
                {
                    ready.TrySetResult(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var line = await ready.Task.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Contains("embedded simulator", line, StringComparison.Ordinal);
            Assert.Contains("sk-fantasy-dev", line, StringComparison.Ordinal);
            var baseUrl = line.Split(' ')[1]; // READY http://127.0.0.1:PORT/v1 …
            using var http = new HttpClient();
            var health = JsonDocument.Parse(await http.GetStringAsync(new Uri(baseUrl.Replace("/v1", "/healthz", StringComparison.Ordinal)))).RootElement;
            Assert.Equal("ok", health.GetProperty("status").GetString());
            Assert.True(health.GetProperty("upstream").GetProperty("embedded_simulator").GetBoolean());
            Assert.True(health.GetProperty("upstream").GetProperty("reachable").GetBoolean());
            lock (output)
            {
                Assert.Contains("embedded simulator", output.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
    }
}
