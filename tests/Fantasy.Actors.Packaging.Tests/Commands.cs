using System.Diagnostics;
using System.Text;

namespace Fantasy.Actors.Packaging.Tests;

/// <summary>Runs the dotnet CLI and the installed tools as a user would, their output kept for the failure message.</summary>
internal static class Commands
{
    public static string RepositoryRoot() => Fantasy.Actors.Testing.RepositoryRoot.Find();

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/> in <paramref name="directory"/> to its end; its output, or an exception with it when it fails.</summary>
    public static async Task<string> RunAsync(string file, string directory, TimeSpan timeout, params string[] args)
    {
        var start = Start(file, directory, args);
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not end within {timeout}:\n{Text(output)}");
        }

        process.WaitForExit(); // the output's last lines
        return process.ExitCode == 0
            ? Text(output)
            : throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}:\n{Text(output)}");
    }

    public static ProcessStartInfo Start(string file, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // What the test host was given is not the consumer's: no inherited MSBuild or test settings.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        return start;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/> without build output (bin, obj).</summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.EnumerateDirectories(from))
        {
            var name = Path.GetFileName(dir);
            if (name is "bin" or "obj" or "TestResults")
            {
                continue;
            }

            CopyTree(dir, Path.Combine(to, name));
        }
    }
}
