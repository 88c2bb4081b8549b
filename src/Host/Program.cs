using Fantasy.Actors.Host;

// The gateway: `dotnet run --project src/Host` serves the OpenAI Responses API on http://127.0.0.1:5080
// with the embedded simulator as its upstream unless Fantasy:Upstream:BaseUrl is set. --help lists the settings.
if (GatewayHelp.Asked(args))
{
    Console.WriteLine(GatewayHelp.Text);
    return 0;
}

await using var gateway = await Gateway.StartAsync(args);
Console.WriteLine(gateway.ReadyLine());
await gateway.App.WaitForShutdownAsync();
return 0;
