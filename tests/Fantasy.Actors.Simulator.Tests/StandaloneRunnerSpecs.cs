using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Simulator.Tests;

public sealed class StandaloneRunnerSpecs
{
    [Fact]
    public void Flags_become_options_and_faults()
    {
        var (options, faults) = Cli.Parse([
            "--port", "0", "--api-key", "a", "--api-key", "b", "--lifetime", "90s", "--event-latency-ms", "5",
            "--sse-done", "--refuse-upgrades", "426x2", "--fail-posts", "503", "--error", "rate_limit_exceeded:429x1",
            "--malformedx2",
        ]);

        Assert.Equal(0, options.Port);
        Assert.Equal(["a", "b"], options.ApiKeys);
        Assert.Equal(TimeSpan.FromSeconds(90), options.ConnectionLifetime);
        Assert.Equal(TimeSpan.FromMilliseconds(5), options.PerEventLatency);
        Assert.True(options.SseDone);

        var knobs = new SimulatorFaults(options);
        foreach (var apply in faults)
        {
            apply(knobs);
        }

        Assert.Equal(426, knobs.TakeUpgradeRefusal()!.Status);
        Assert.Equal(426, knobs.TakeUpgradeRefusal()!.Status);
        Assert.Null(knobs.TakeUpgradeRefusal());
        var post = knobs.TakePostFailure()!;
        Assert.Equal(503, post.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), post.RetryAfter);
        var first = knobs.TakeTurnFaults(FaultTransport.WebSocket);
        Assert.Equal((429, "rate_limit_exceeded"), (first.Error!.Value.Status, first.Error.Value.Code));
        Assert.True(first.MalformedFrame);
        var second = knobs.TakeTurnFaults(FaultTransport.Http);
        Assert.Null(second.Error);
        Assert.True(second.MalformedFrame);
        Assert.Equal(TurnFaults.None, knobs.TakeTurnFaults(FaultTransport.WebSocket));
    }

    [Fact]
    public void Sse_error_flag_becomes_an_http_only_fault()
    {
        var (options, faults) = Cli.Parse(["--sse-error", "server_error:3x2"]);
        var knobs = new SimulatorFaults(options);
        foreach (var apply in faults)
        {
            apply(knobs);
        }

        for (var i = 0; i < 2; i++)
        {
            var fault = knobs.TakeTurnFaults(FaultTransport.Http).SseError;
            Assert.Equal((3, "server_error"), (fault!.Value.AfterEvents, fault.Value.Code));
        }

        Assert.Null(knobs.TakeTurnFaults(FaultTransport.Http).SseError);
    }

    [Theory]
    [InlineData("--sse-error", "server_error")]
    [InlineData("--port")]
    [InlineData("--port", "-1")]
    [InlineData("--lifetime", "soon")]
    [InlineData("--error", "429")]
    [InlineData("--frobnicate")]
    public void Bad_flags_are_refused_with_a_reason(params string[] args)
    {
        var ex = Assert.Throws<ArgumentException>(() => Cli.Parse(args));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public async Task The_runner_prints_its_port_serves_turns_and_stats()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Fantasy.Actors.Simulator.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "--port", "0", "--api-key", "sk-runner" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var line = await process.StandardOutput.ReadLineAsync(cts.Token);
            Assert.NotNull(line);
            Assert.StartsWith("LISTENING ", line, StringComparison.Ordinal);
            var port = int.Parse(line["LISTENING ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(port > 0);

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-runner");
            using var response = await http.PostAsync(new Uri("v1/responses", UriKind.Relative),
                new ByteArrayContent(Request(User("a")).ToHttpBody(stream: false)), cts.Token);
            var snapshot = ResponseSnapshot.Parse(await response.Content.ReadAsByteArrayAsync(cts.Token));
            Assert.Equal("completed", snapshot.Status);

            using var stats = JsonDocument.Parse(await http.GetStringAsync(new Uri("_stats", UriKind.Relative), cts.Token));
            Assert.Equal(1, stats.RootElement.GetProperty("http_posts").GetInt64());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
