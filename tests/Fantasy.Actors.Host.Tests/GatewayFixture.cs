using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using Fantasy.Actors.Simulator;
using OpenAI.Responses;

namespace Fantasy.Actors.Host.Tests;

/// <summary>The real gateway on 127.0.0.1:0 in front of a simulator the tests can inspect and fault.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const string AcmeKey = "sk-acme-0123";
    public const string GlobexKey = "sk-globex-4567";
    public const string TinyKey = "sk-tiny-8901";

    /// <summary>A tenant only the metric specs use, so that what they count is theirs alone.</summary>
    public const string CountedKey = "sk-counted-2345";

    public ResponsesSimulator Sim { get; private set; } = null!;

    internal Gateway Gateway { get; private set; } = null!;

    public Uri Base => new(Gateway.BaseAddress.ToString().TrimEnd('/') + "/v1/");

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        Sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { KeepLastRequests = 64 });
        Gateway = await TestGateways.StartAsync(Sim, [
            $"--Fantasy:Tenants:acme:Keys:0={AcmeKey}",
            $"--Fantasy:Tenants:globex:Keys:0={GlobexKey}",
            $"--Fantasy:Tenants:tiny:Keys:0={TinyKey}",
            $"--Fantasy:Tenants:counted:Keys:0={CountedKey}",
            "--Fantasy:Tenants:counted:MaxSessions=50",
            "--Fantasy:Tenants:tiny:UpstreamApiKey=sk-upstream-tiny",
            "--Fantasy:Tenants:tiny:MaxQueuedTurns=1",
            "--Fantasy:Gateway:MaxBodyBytes=65536",
        ]);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync();
        await Sim.DisposeAsync();
    }

    /// <summary>The official OpenAI .NET SDK pointed at the gateway, optionally naming a session.</summary>
    public ResponsesClient Sdk(string key = AcmeKey, string? sessionId = null)
    {
        var options = new ResponsesClientOptions { Endpoint = Base };
        if (sessionId is not null)
        {
            options.AddPolicy(new SessionHeader(sessionId), PipelinePosition.PerCall);
        }

        return new ResponsesClient(new ApiKeyCredential(key), options);
    }

    public HttpRequestMessage Post(string json, string? key = AcmeKey, string? sessionId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Base, "responses")) { Content = new StringContent(json) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (sessionId is not null)
        {
            request.Headers.Add("X-Session-Id", sessionId);
        }

        return request;
    }

    public HttpRequestMessage Get(string path, string? key = AcmeKey, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, new Uri(Gateway.BaseAddress, path));
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    internal sealed class SessionHeader(string sessionId) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set("X-Session-Id", sessionId);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set("X-Session-Id", sessionId);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayGroup : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
