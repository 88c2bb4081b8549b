using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.LoadDriver;

/// <summary>
/// Tenants sharing one upstream budget through the gateway: each tenant's conversations send turns back to back
/// (<c>POST /v1/responses</c>, non-streaming, a named session each) for the run's length, against a simulator whose
/// organization allows far fewer requests than they offer. Counts per tenant: completed turns (whole run, and in the
/// steady part after the simulator's full starting bucket is spent), the gateway's own 429s (a tenant's limits) and
/// whether any answer passed the upstream's 429 on; then reads the simulator's admitted and refused requests.
/// </summary>
internal static class RateLimitLoad
{
    /// <param name="tenants">name=key=conversations, one per tenant.</param>
    public static async Task<int> RunAsync(Uri gateway, Uri simulatorStats, IReadOnlyList<(string Name, string Key, int Conversations)> tenants, TimeSpan duration, TimeSpan steadyAfter)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = TimeSpan.FromMinutes(3) };
        var endpoint = new Uri(gateway, "responses");
        var stats = tenants.ToDictionary(t => t.Name, _ => new TenantCounts());
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(duration);
        var workers = tenants.SelectMany(t => Enumerable.Range(0, t.Conversations).Select(c => Task.Run(() =>
            ConversationAsync(http, endpoint, t.Key, $"{t.Name}-{c}", stats[t.Name], clock, steadyAfter, stop.Token)))).ToList();
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;

        using var sim = JsonDocument.Parse(await http.GetStringAsync(simulatorStats));
        var admitted = sim.RootElement.GetProperty("budget_admitted_requests").GetInt64();
        var refused = sim.RootElement.GetProperty("rate_limited_requests").GetInt64();
        var completed = stats.Values.Sum(s => s.Completed);
        var steady = stats.Values.Sum(s => s.SteadyCompleted);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run: {elapsed.TotalSeconds:F1} s; steady part from {steadyAfter.TotalSeconds:F0} s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"upstream: {admitted} requests admitted, {refused} refused with 429 ({100.0 * refused / Math.Max(1, admitted):F2} % of admitted)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"completed turns: {completed} ({completed / elapsed.TotalSeconds:F1}/s); steady part: {steady} ({steady / (elapsed - steadyAfter).TotalSeconds:F1}/s)"));
        Console.WriteLine("tenant        completed  steady  share-of-steady  gateway-429  upstream-429-seen  other-failures  max-429-retry-after  limit-header");
        foreach (var (name, s) in stats)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-12} {s.Completed,10} {s.SteadyCompleted,7} {100.0 * s.SteadyCompleted / Math.Max(1, steady),15:F1}% {s.GatewayRefused,12} {s.UpstreamRefusedSeen,18} {s.OtherFailures,15} {s.MaxRetryAfter,20} {s.LimitHeader,13}"));
        }

        return 0;
    }

    private sealed class TenantCounts
    {
        private long completed;
        private long steadyCompleted;
        private long gatewayRefused;
        private long upstreamRefusedSeen;
        private long otherFailures;

        public long Completed => Interlocked.Read(ref completed);
        public long SteadyCompleted => Interlocked.Read(ref steadyCompleted);
        public long GatewayRefused => Interlocked.Read(ref gatewayRefused);
        public long UpstreamRefusedSeen => Interlocked.Read(ref upstreamRefusedSeen);
        public long OtherFailures => Interlocked.Read(ref otherFailures);
        public string MaxRetryAfter { get; set; } = "-";
        public string LimitHeader { get; set; } = "-";
        public ConcurrentBag<string> Samples { get; } = [];

        public void Completed1(bool steady)
        {
            Interlocked.Increment(ref completed);
            if (steady)
            {
                Interlocked.Increment(ref steadyCompleted);
            }
        }

        public void GatewayRefused1() => Interlocked.Increment(ref gatewayRefused);

        public void UpstreamRefused1() => Interlocked.Increment(ref upstreamRefusedSeen);

        public void Other1() => Interlocked.Increment(ref otherFailures);
    }

    private static async Task ConversationAsync(HttpClient http, Uri endpoint, string key, string session, TenantCounts counts, Stopwatch clock, TimeSpan steadyAfter, CancellationToken stop)
    {
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
            {
                Content = new StringContent($$"""{"model":"sim-model","input":"turn {{n++}}","store":false}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            request.Headers.Add("X-Session-Id", session);
            HttpResponseMessage response;
            try
            {
                // A turn that started finishes even past the end of the run: it is counted if it completes.
                response = await http.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
            }
            catch (HttpRequestException)
            {
                counts.Other1();
                continue;
            }

            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    counts.Completed1(clock.Elapsed >= steadyAfter);
                    continue;
                }

                if (response.StatusCode == (HttpStatusCode)429 && body.Contains("for tenant", StringComparison.Ordinal))
                {
                    // The gateway's own refusal (a tenant's limit): it says when to come back; come back then.
                    counts.GatewayRefused1();
                    counts.LimitHeader = response.Headers.TryGetValues("x-ratelimit-limit-requests", out var l) ? l.Single() : "missing";
                    var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                    counts.MaxRetryAfter = wait.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
                    try
                    {
                        await Task.Delay(response.Headers.TryGetValues("retry-after-ms", out var ms) ? TimeSpan.FromMilliseconds(double.Parse(ms.Single(), CultureInfo.InvariantCulture)) : wait, stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                if (response.StatusCode == (HttpStatusCode)429)
                {
                    counts.UpstreamRefused1();
                }
                else
                {
                    counts.Other1();
                }

                if (counts.Samples.Count < 3)
                {
                    counts.Samples.Add($"{(int)response.StatusCode}: {body}");
                    Console.Error.WriteLine($"{session}: {(int)response.StatusCode}: {body}");
                }
            }
        }
    }
}
