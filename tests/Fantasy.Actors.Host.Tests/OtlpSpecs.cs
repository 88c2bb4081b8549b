using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Fantasy.Actors.Simulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Fantasy.Actors.Host.Tests;

/// <summary>With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, the gateway exports its turn spans and metrics over OTLP.</summary>
public sealed class OtlpSpecs
{

    [Fact]
    public async Task Turn_spans_and_metrics_reach_an_OTLP_collector_when_the_endpoint_is_configured()
    {
        // The collector: a Kestrel app on loopback that keeps what is posted to the OTLP/HTTP paths (protobuf bodies;
        // the span, attribute and metric names are in them as UTF-8 strings).
        var posts = new ConcurrentQueue<(string Path, byte[] Body)>();
        var spanSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var metricSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var collectorBuilder = WebApplication.CreateSlimBuilder();
        collectorBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = collectorBuilder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context, string signal) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var bytes = body.ToArray();
            posts.Enqueue((context.Request.Path, bytes));
            var text = Encoding.UTF8.GetString(bytes);
            if (signal == "traces" && text.Contains("chat m-otlp", StringComparison.Ordinal) && text.Contains("otlp-session", StringComparison.Ordinal))
            {
                spanSeen.TrySetResult();
            }

            if (signal == "metrics" && text.Contains("gen_ai.client.operation.duration", StringComparison.Ordinal) && text.Contains("fantasy.turns", StringComparison.Ordinal))
            {
                metricSeen.TrySetResult();
            }

            return Results.Ok();
        });
        await collector.StartAsync();
        var collectorUrl = collector.Urls.Single();

        await using var sim = await ResponsesSimulator.StartAsync();
        await using (var gateway = await TestGateways.StartAsync(sim, [
            $"--Fantasy:Tenants:acme:Keys:0={GatewayFixture.AcmeKey}",
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={collectorUrl}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--OTEL_SERVICE_NAME=fantasy-otlp-spec",
        ]))
        {
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/responses"))
            {
                Content = new StringContent("""{"model":"m-otlp","input":"export me"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFixture.AcmeKey);
            request.Headers.Add("X-Session-Id", "otlp-session");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Stopping the gateway flushes both providers; the periodic exports may have delivered them before.
        await spanSeen.Task.WaitAsync(Patience);
        await metricSeen.Task.WaitAsync(Patience);
        Assert.Contains(posts, p => p.Path == "/v1/traces" && Encoding.UTF8.GetString(p.Body).Contains("fantasy-otlp-spec", StringComparison.Ordinal));
        Assert.DoesNotContain(posts, p => p.Path is not ("/v1/traces" or "/v1/metrics" or "/v1/logs"));
    }
}
