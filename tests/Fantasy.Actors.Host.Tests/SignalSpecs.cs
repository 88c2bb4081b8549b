using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// The gateway as a real process stopped by a real signal: the turns it is running finish, new turns get 503
/// meanwhile, and the process exits after them.
/// </summary>
public sealed class SignalSpecs
{
    private const int SigInt = 2;
    private const int SigTerm = 15;
    private const int Turns = 4;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/> with kill(1).</summary>
    private static async Task<int> KillAsync(int pid, int signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        return kill.ExitCode;
    }


    private static HttpRequestMessage Post(string baseUrl, string input, string sessionId, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/responses")
        {
            Content = new StringContent($$"""{"model":"m","input":"{{input}}","stream":{{(stream ? "true" : "false")}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-signal");
        request.Headers.Add("X-Session-Id", sessionId);
        return request;
    }

    [Theory]
    [InlineData(SigTerm)]
    [InlineData(SigInt)]
    public async Task A_signal_lets_running_turns_finish_answers_503_meanwhile_and_then_exits(int signal)
    {
        await using var sim = await ResponsesSimulator.StartAsync();

        // Each running turn sends response.created, then nothing for 3 s: the signal comes in that gap.
        sim.Faults.Stall(TimeSpan.FromSeconds(3), turns: Turns);
        var hostDir = HostProcess.HostDirectory();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = hostDir };
        foreach (var arg in new[]
                 {
                     Path.Combine(hostDir, "Fantasy.Actors.Host.dll"), "--urls", "http://127.0.0.1:0",
                     $"--Fantasy:Upstream:BaseUrl={sim.BaseUrl}", $"--Fantasy:Upstream:WebSocketUrl={sim.WebSocketUrl}",
                     "--Fantasy:Upstream:ApiKey=sk-upstream", "--Fantasy:Tenants:signal:Keys:0=sk-signal",
                     "--Fantasy:Gateway:DrainTimeout=00:00:30",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        var (process, output, readyLine) = await HostProcess.StartAsync(start, TimeSpan.FromMinutes(1));
        using var owned = process;
        try
        {
            var baseUrl = readyLine.Split(' ')[1];
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

            // Turns that are running: each has its headers and its first event.
            var bodies = new List<Task<string>>();
            var responses = new List<HttpResponseMessage>();
            for (var i = 0; i < Turns; i++)
            {
                var response = await http.SendAsync(Post(baseUrl, "long", $"running-{i}", stream: true), HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                var first = new StringBuilder();
                while (await reader.ReadLineAsync() is { } line && !line.StartsWith("data:", StringComparison.Ordinal))
                {
                    first.AppendLine(line);
                }

                responses.Add(response);
                bodies.Add(reader.ReadToEndAsync());
            }

            Assert.Equal(0, await KillAsync(process.Id, signal));

            // Until the process sees the signal a new turn may still be taken (and then runs to its end);
            // from then on every new turn is answered 503 shutting_down, not refused.
            HttpResponseMessage? refused = null;
            for (var attempt = 0; attempt < 200 && refused is null; attempt++)
            {
                var answer = await http.SendAsync(Post(baseUrl, "new", $"late-{attempt}", stream: false));
                if (answer.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    refused = answer;
                }
                else
                {
                    Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                    answer.Dispose();
                }
            }

            Assert.NotNull(refused);
            var error = JsonDocument.Parse(await refused!.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("shutting_down", error.GetProperty("code").GetString());
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.False(process.HasExited);

            // The running turns finish as if nothing happened.
            foreach (var body in bodies)
            {
                var text = await body.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Contains("event: response.completed", text, StringComparison.Ordinal);
                Assert.DoesNotContain("event: error", text, StringComparison.Ordinal);
            }

            // Then the process exits on its own, cleanly.
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, process.ExitCode);
            var log = HostProcess.Text(output);

            Assert.Contains("every running turn ended", log, StringComparison.Ordinal);
            Assert.DoesNotContain("the session stopped while the turn was running", log, StringComparison.Ordinal);
            responses.ForEach(r => r.Dispose());
            refused.Dispose();
        }
        finally
        {
            await HostProcess.KillAsync(process);
        }
    }
}
