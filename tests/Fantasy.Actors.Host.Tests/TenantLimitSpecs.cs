using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Simulator;
using OpenAI.Responses;

namespace Fantasy.Actors.Host.Tests;

/// <summary>A tenant's limits at a real gateway: refused before the upstream with the API's 429, headers on every answer, the SDK retrying.</summary>
public sealed class TenantLimitSpecs : IAsyncLifetime
{
    private const string LimitedKey = "sk-limited-1";
    private const string FreeKey = "sk-free-1";
    private ResponsesSimulator sim = null!;
    private Gateway gateway = null!;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        sim = await ResponsesSimulator.StartAsync();
        gateway = await TestGateways.StartAsync(sim,
            $"--Fantasy:Tenants:limited:Keys:0={LimitedKey}",
            "--Fantasy:Tenants:limited:Limits:RequestsPerMinute=60",
            "--Fantasy:Tenants:limited:Limits:MaxWait=00:00:00",
            $"--Fantasy:Tenants:free:Keys:0={FreeKey}",
            "--Fantasy:Persistence:Provider=None");
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await gateway.DisposeAsync();
        await sim.DisposeAsync();
    }

    private async Task<HttpResponseMessage> PostAsync(string key, string body = """{"model":"m","input":"hi"}""")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/responses")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }

    private static string Header(HttpResponseMessage r, string name) => r.Headers.GetValues(name).Single();

    [Fact]
    public async Task Past_its_requests_per_minute_a_tenant_gets_429_with_retry_after_and_its_limits_before_anything_goes_upstream()
    {
        var clock = Stopwatch.StartNew();
        var admitted = 0;
        HttpResponseMessage? refused = null;
        long remainingBefore = 61;
        for (var i = 0; i < 500 && refused is null; i++)
        {
            var response = await PostAsync(LimitedKey);
            if (response.StatusCode == (HttpStatusCode)429)
            {
                refused = response;
                break;
            }

            using (response)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("60", Header(response, "x-ratelimit-limit-requests"));
                var remaining = long.Parse(Header(response, "x-ratelimit-remaining-requests"), System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(remaining < remainingBefore + 2, $"remaining {remaining} after {remainingBefore}");
                remainingBefore = remaining;
                admitted++;
            }
        }

        // What 60 a minute allows: 60 at once, then one a second.
        Assert.NotNull(refused);
        Assert.InRange(admitted, 60, 60 + (int)Math.Ceiling(clock.Elapsed.TotalSeconds) + 1);
        using (refused)
        {
            Assert.Equal("60", Header(refused, "x-ratelimit-limit-requests"));
            Assert.Equal("0", Header(refused, "x-ratelimit-remaining-requests"));
            Assert.True(int.Parse(refused.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
            Assert.InRange(long.Parse(Header(refused, "retry-after-ms"), System.Globalization.CultureInfo.InvariantCulture), 1, 1000);
            using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal("rate_limit_exceeded", error.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("requests", error.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("Limit 60", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // Nothing of the refused turn reached the upstream; another tenant is not limited by this one.
        Assert.Equal(admitted, sim.Counters.ResponseCreateFrames + sim.Counters.HttpPosts);
        using var other = await PostAsync(FreeKey);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.False(other.Headers.Contains("x-ratelimit-limit-requests"));

        // The refusals are counted per tenant and limit on /metrics.
        var metrics = await http.GetStringAsync(new Uri(gateway.BaseAddress, "/metrics"));
        var refusals = metrics.Split('\n').Single(l => l.StartsWith("fantasy_tenant_rate_limited_total{", StringComparison.Ordinal) && l.Contains("tenant=\"limited\"", StringComparison.Ordinal));
        Assert.Contains("limit=\"requests\"", refusals, StringComparison.Ordinal);
        Assert.True(double.Parse(refusals[(refusals.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture) >= 1, refusals);

        // An answer that is an error of the request carries the tenant's headers too.
        using var bad = await PostAsync(LimitedKey, "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("60", Header(bad, "x-ratelimit-limit-requests"));
    }

    [Fact]
    public async Task The_official_sdk_waits_as_the_429_says_and_completes_every_turn_with_its_default_retries()
    {
        var client = new ResponsesClient(new ApiKeyCredential(LimitedKey), new ResponsesClientOptions { Endpoint = new Uri(gateway.BaseAddress, "/v1/") });
        var completed = 0;
        for (var i = 0; i < 64; i++)
        {
            ResponseResult response = await client.CreateResponseAsync(new CreateResponseOptions("sim-model", [ResponseItem.CreateUserMessageItem($"turn {i}")])).WaitAsync(Patience);
            Assert.Equal(ResponseStatus.Completed, response.Status);
            completed++;
        }

        Assert.Equal(64, completed);
        var state = gateway.App.Services.GetService(typeof(TenantDirectory)) as TenantDirectory;
        var limited = state!.Tenants.Single(t => t.Options.Name == "limited");
        Assert.True(limited.Limiter!.Refused >= 1, "the SDK met no 429: the spec proves nothing");
    }
}
