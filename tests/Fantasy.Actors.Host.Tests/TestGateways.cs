using Fantasy.Actors.Simulator;

namespace Fantasy.Actors.Host.Tests;

/// <summary>A real gateway on 127.0.0.1:0 in front of a simulator; the caller adds its tenants and settings.</summary>
internal static class TestGateways
{
    public static Task<Gateway> StartAsync(ResponsesSimulator sim, params string[] extra) =>
        Gateway.StartAsync([
            "--urls", "http://127.0.0.1:0",
            $"--Fantasy:Upstream:BaseUrl={sim.BaseUrl}",
            $"--Fantasy:Upstream:WebSocketUrl={sim.WebSocketUrl}",
            "--Fantasy:Upstream:ApiKey=sk-upstream",
            .. extra,
        ]);
}
