using System.Diagnostics;
using System.Text.Json;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The README's run command, as a person runs it, answers /healthz and /readyz with its embedded simulator.</summary>
public sealed class RunCommandSpecs
{
    [Fact]
    public async Task With_json_logs_every_log_line_is_json_and_no_key_is_ever_logged()
    {
        const string tenantKey = "sk-tenant-secret-777";
        var (process, output, line) = await StartAsync("--Fantasy:Logging:Json=true", $"--Fantasy:Tenants:t:Keys:0={tenantKey}");
        using (process)
        {
            try
            {
                var baseUrl = line.Split(' ')[1];
                using var http = new HttpClient();
                using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/responses")
                {
                    Content = new StringContent("""{"model":"m","input":"hi"}""", System.Text.Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tenantKey);
                request.Headers.Add("X-Session-Id", "logged");
                using var response = await http.SendAsync(request);
                Assert.True(response.IsSuccessStatusCode);
            }
            finally
            {
                await StopAsync(process);
            }

            string text;
            lock (output)
            {
                text = output.ToString();
            }

            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => !l.StartsWith("READY ", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(lines);
            Assert.All(lines, l => Assert.True(JsonDocument.Parse(l).RootElement.TryGetProperty("@t", out _), l));
            Assert.Contains(lines, l => l.Contains("/v1/responses", StringComparison.Ordinal)); // request logging
            Assert.DoesNotContain(tenantKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain("sk-embedded-simulator", text, StringComparison.Ordinal);
        }
    }

    private static Task StopAsync(Process process) => HostProcess.KillAsync(process);

    /// <summary>`dotnet run --project src/Host`, already built by this test run (--no-build), on a free port.</summary>
    private static Task<(Process Process, System.Text.StringBuilder Output, string ReadyLine)> StartAsync(params string[] extra) =>
        HostProcess.StartAsync(
            new ProcessStartInfo("dotnet", "run --no-build --project src/Host -- --urls http://127.0.0.1:0 " + string.Join(' ', extra)) { WorkingDirectory = HostProcess.RepositoryRoot() },
            TimeSpan.FromMinutes(2));

    [Fact]
    public async Task Dotnet_run_of_the_host_serves_healthz_with_the_embedded_simulator()
    {
        var (process, output, line) = await StartAsync();
        using (process)
        {
            try
            {
                Assert.Contains("embedded simulator", line, StringComparison.Ordinal);
                Assert.Contains("sk-fantasy-dev", line, StringComparison.Ordinal);
                var baseUrl = line.Split(' ')[1]; // READY http://127.0.0.1:PORT/v1 …
                using var http = new HttpClient();
                var health = JsonDocument.Parse(await http.GetStringAsync(new Uri(baseUrl.Replace("/v1", "/healthz", StringComparison.Ordinal)))).RootElement;
                Assert.Equal("ok", health.GetProperty("status").GetString());
                Assert.True(health.GetProperty("upstream").GetProperty("embedded_simulator").GetBoolean());
                Assert.Equal(JsonValueKind.Null, health.GetProperty("upstream").GetProperty("reachable").ValueKind); // not checked yet
                var ready = JsonDocument.Parse(await http.GetStringAsync(new Uri(baseUrl.Replace("/v1", "/readyz", StringComparison.Ordinal)))).RootElement;
                Assert.Equal("ready", ready.GetProperty("status").GetString());
                Assert.True(ready.GetProperty("upstream").GetProperty("reachable").GetBoolean());

                // A fresh process lists the service's instruments before its first session, and ASP.NET Core's and
                // the runtime's beside them (one gateway per process: nothing else adds to these series).
                var metrics = PrometheusText.Parse(await http.GetStringAsync(new Uri(baseUrl.Replace("/v1", "/metrics", StringComparison.Ordinal))));
                Assert.Equal(0, Assert.Single(metrics.Find("fantasy_sessions_open")).Value);
                Assert.Equal(0, Assert.Single(metrics.Find("fantasy_sockets_open")).Value);
                Assert.Equal(0, Assert.Single(metrics.Find("fantasy_fallbacks_total")).Value);
                Assert.Equal(0, Assert.Single(metrics.Find("fantasy_replays_total")).Value);
                Assert.Equal(0, Assert.Single(metrics.Find("fantasy_rotations_total")).Value);
                Assert.Empty(metrics.Find("fantasy_turns_total"));
                Assert.Equal(0, Assert.Single(metrics.Find("fantasy_tenant_sessions", "tenant=dev")).Value);
                metrics.CheckHistogram("http_server_request_duration_seconds");
                Assert.Equal(1, metrics.Sum("http_server_request_duration_seconds_count", "http_route=/healthz", "http_response_status_code=200"));
                Assert.True(metrics.Sum("dotnet_gc_heap_total_allocated_bytes_total") > 0);
                lock (output)
                {
                    Assert.Contains("embedded simulator", output.ToString(), StringComparison.Ordinal);
                }
            }
            finally
            {
                await StopAsync(process);
            }
        }
    }
}
