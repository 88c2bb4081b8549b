using System.ClientModel;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fantasy.Actors.Simulator;
using OpenAI;
using OpenAI.Conversations;
using OpenAI.Models;
using OpenAI.Responses;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// The gateway in front of a simulator that accepts only the upstream keys (so a gateway key passed on would be
/// refused): two tenants on the shared upstream key, one with its own, one with a request limit.
/// </summary>
public sealed class ApiSurfaceFixture : IAsyncLifetime
{
    public const string AcmeKey = "sk-acme-api";
    public const string GlobexKey = "sk-globex-api";
    public const string OwnKey = "sk-own-api";
    public const string LimitedKey = "sk-limited-api";
    public const string SharedUpstreamKey = "sk-upstream";
    public const string OwnUpstreamKey = "sk-upstream-own";

    public ResponsesSimulator Sim { get; private set; } = null!;

    internal Gateway Gateway { get; private set; } = null!;

    public Uri Base => new(Gateway.BaseAddress.ToString().TrimEnd('/') + "/v1/");

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        Sim = await ResponsesSimulator.StartAsync(new SimulatorOptions { ApiKeys = [SharedUpstreamKey, OwnUpstreamKey] });
        Gateway = await TestGateways.StartAsync(Sim, [
            $"--Fantasy:Tenants:acme:Keys:0={AcmeKey}",
            $"--Fantasy:Tenants:globex:Keys:0={GlobexKey}",
            $"--Fantasy:Tenants:own:Keys:0={OwnKey}",
            $"--Fantasy:Tenants:own:UpstreamApiKey={OwnUpstreamKey}",
            $"--Fantasy:Tenants:limited:Keys:0={LimitedKey}",
            "--Fantasy:Tenants:limited:Limits:RequestsPerMinute=2",
            "--Fantasy:Tenants:limited:Limits:MaxWait=00:00:00",
        ]);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync();
        await Sim.DisposeAsync();
    }

    private OpenAIClientOptions Options() => new() { Endpoint = Base };

    /// <summary>The official SDK's Responses client on the gateway, optionally naming a session (<c>X-Session-Id</c>).</summary>
    public ResponsesClient Responses(string key = AcmeKey, string? sessionId = null)
    {
        var options = new ResponsesClientOptions { Endpoint = Base };
        if (sessionId is not null)
        {
            options.AddPolicy(new GatewayFixture.SessionHeader(sessionId), System.ClientModel.Primitives.PipelinePosition.PerCall);
        }

        return new ResponsesClient(new ApiKeyCredential(key), options);
    }

    public OpenAIModelClient Models(string key = AcmeKey) => new(new ApiKeyCredential(key), Options());

    public ConversationClient Conversations(string key = AcmeKey) => new(new ApiKeyCredential(key), new ConversationClientOptions { Endpoint = Base });

    /// <summary>A request to the gateway's <c>/v1/{path}</c> with a tenant's key.</summary>
    public async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string key = AcmeKey, string? json = null, Uri? at = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(at ?? Base, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, body, response);
    }

    /// <summary>The same request straight to the simulator with the shared upstream key: what the upstream itself holds.</summary>
    public Task<(int Status, JsonElement Body, HttpResponseMessage Response)> UpstreamAsync(HttpMethod method, string path, string key = SharedUpstreamKey, string? json = null) =>
        SendAsync(method, path, key, json, at: new Uri(Sim.BaseUrl.ToString().TrimEnd('/') + "/"));
}

[CollectionDefinition(Name)]
public sealed class ApiSurfaceGroup : ICollectionFixture<ApiSurfaceFixture>
{
    public const string Name = "api-surface";
}
