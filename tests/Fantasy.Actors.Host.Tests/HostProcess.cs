using System.Diagnostics;
using System.Text;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The gateway started as a process of its own, with its console output collected.</summary>
internal static class HostProcess
{
    public static string RepositoryRoot() => Fantasy.Actors.Testing.RepositoryRoot.Find();

    /// <summary>The gateway's own build output beside this test run's (same configuration).</summary>
    public static string HostDirectory()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory); // …/tests/Fantasy.Actors.Host.Tests/bin/{Configuration}/{tfm}/
        return Path.Combine(RepositoryRoot(), "src", "Host", "bin", testDir.Parent!.Name, testDir.Name);
    }

    /// <summary>Starts <paramref name="start"/> and waits for its <c>READY …</c> line; the process is killed if it never comes.</summary>
    public static async Task<(Process Process, StringBuilder Output, string ReadyLine)> StartAsync(ProcessStartInfo start, TimeSpan patience)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.Environment.Remove("ASPNETCORE_URLS");
        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new StringBuilder();
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
        try
        {
            return (process, output, await ready.Task.WaitAsync(patience));
        }
        catch
        {
            await KillAsync(process);
            process.Dispose();
            throw;
        }
    }

    public static async Task KillAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
    }

    /// <summary>What the process has written so far.</summary>
    public static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
