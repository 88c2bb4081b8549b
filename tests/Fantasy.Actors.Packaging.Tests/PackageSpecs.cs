using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Xml.Linq;

namespace Fantasy.Actors.Packaging.Tests;

/// <summary>The packages as a team would take them: their contents, a fresh project that references only them, the tools installed.</summary>
[Collection(PackagesGroup.Name)]
public sealed class PackageSpecs(PackagesFixture fx)
{
    private static readonly string[] Libraries = ["Fantasy.Actors.Protocol", "Fantasy.Actors", "Fantasy.Actors.Extensions.AI", "Fantasy.Actors.Simulator"];
    private static readonly string[] Tools = ["Fantasy.Actors.Gateway", "Fantasy.Actors.Simulator.Tool"];

    private string Package(string id) => Path.Combine(fx.Feed, $"{id}.{fx.Version}.nupkg");

    [Fact]
    public void Each_package_carries_its_readme_license_tags_docs_and_symbols()
    {
        // Nothing else is packed: not the tests, the bench or the samples.
        var packed = Directory.GetFiles(fx.Feed, "*.nupkg").Select(f => Path.GetFileName(f)).Order().ToList();
        Assert.Equal(Libraries.Concat(Tools).Select(id => $"{id}.{fx.Version}.nupkg").Order().ToList(), packed);

        foreach (var id in Libraries.Concat(Tools))
        {
            using var zip = ZipFile.OpenRead(Package(id));
            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            string? Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal(id, Meta("id"));
            Assert.Equal(fx.Version, Meta("version"));
            Assert.Equal("MIT", Meta("license"));
            Assert.Equal("README.md", Meta("readme"));
            Assert.False(string.IsNullOrWhiteSpace(Meta("description")), id + ": no description");
            Assert.Contains("websocket", Meta("tags") ?? string.Empty, StringComparison.Ordinal);
            var readme = new StreamReader(zip.GetEntry("README.md")!.Open()).ReadToEnd();
            Assert.StartsWith("# " + id, readme, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.ChangeExtension(Package(id), ".snupkg")), id + ": no symbols package");
        }

        foreach (var id in Libraries)
        {
            using var zip = ZipFile.OpenRead(Package(id));
            Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.dll");
            Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.xml"); // XML docs
            using var symbols = ZipFile.OpenRead(Path.ChangeExtension(Package(id), ".snupkg"));
            Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net10.0/{id}.pdb");
        }

        foreach (var id in Tools)
        {
            using var zip = ZipFile.OpenRead(Package(id));
            Assert.Contains(zip.Entries, e => e.FullName.StartsWith("tools/net10.0/any/", StringComparison.Ordinal) && e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_fresh_project_with_only_package_references_runs_the_chat_client_samples_code_and_a_sessions_turn()
    {
        var project = Path.Combine(fx.Work, "consumer");
        Directory.CreateDirectory(project);
        File.Copy(Path.Combine(fx.Root, "samples", "ChatClientToolLoop", "ToolLoop.cs"), Path.Combine(project, "ToolLoop.cs"));
        WriteProject(project, "Consumer.csproj");
        File.WriteAllText(Path.Combine(project, "Program.cs"), """"
            using Akka.Actor;
            using Akka.Configuration;
            using Fantasy.Actors.Api;
            using Fantasy.Actors.Configuration;
            using Fantasy.Actors.Contract;
            using Fantasy.Actors.Protocol;
            using Fantasy.Actors.Simulator;

            // The chat client sample's own code, as it is in the repository.
            var code = await Fantasy.Samples.ChatClientToolLoop.ToolLoop.RunAsync(["--rounds", "3"], Console.Out);
            if (code != 0)
            {
                return code;
            }

            // And a turn through IResponsesSessions against the packaged simulator.
            await using var sim = await ResponsesSimulator.StartAsync();
            var config = ConfigurationFactory.ParseString($"""
                fantasy.upstream.base-url = "{sim.BaseUrl}"
                fantasy.upstream.websocket-url = "{sim.WebSocketUrl}"
                """).WithFallback(FantasySettings.DefaultConfig);
            using var system = ActorSystem.Create("consumer", config);
            IResponsesSessions sessions = new ResponsesSessions(system, new UpstreamCredentials("sk-consumer"));
            await foreach (var item in sessions.RunTurnAsync(new SessionKey("team", "first"), ResponseRequest.Parse("""{"model":"m","input":"hello"}"""u8)))
            {
                if (item is TurnFinished finished)
                {
                    Console.WriteLine($"sessions turn: {finished.End.Outcome} {finished.End.Transport} {finished.End.Result.Text}");
                }
            }

            await system.Terminate();
            return 0;
            """");

        var output = await Commands.RunAsync("dotnet", project, PackagesFixture.CommandTimeout, "run", "-c", "Release");
        Assert.DoesNotContain("ProjectReference", File.ReadAllText(Path.Combine(project, "Consumer.csproj")), StringComparison.Ordinal);
        Assert.Contains("upstream: 1 socket(s), 6 requests, 5 of them deltas", output, StringComparison.Ordinal);
        Assert.Contains("sessions turn: Completed WebSocket ok: 1", output, StringComparison.Ordinal);

        // What it ran was the packages': restored from the feed, not built from the repository.
        var assets = File.ReadAllText(Path.Combine(project, "obj", "project.assets.json"));
        Assert.Contains($"Fantasy.Actors/{fx.Version}", assets, StringComparison.Ordinal);
        Assert.DoesNotContain("\"type\": \"project\"", assets, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agent_framework_sample_builds_and_runs_against_the_packages()
    {
        var project = Path.Combine(fx.Work, "agent");
        Directory.CreateDirectory(project);
        foreach (var file in new[] { "AgentSample.cs", "Program.cs" })
        {
            File.Copy(Path.Combine(fx.Root, "samples", "FrameworkAgent", file), Path.Combine(project, file));
        }

        var agents = XDocument.Load(Path.Combine(fx.Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(e => (string?)e.Attribute("Include") == "Microsoft.Agents.AI").Attribute("Version")!.Value;
        WriteProject(project, "Agent.csproj", ("Microsoft.Agents.AI", agents));
        var output = await Commands.RunAsync("dotnet", project, PackagesFixture.CommandTimeout, "run", "-c", "Release");
        Assert.Contains("upstream: 1 socket(s), 5 requests, 4 of them deltas", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_and_simulator_tools_install_and_serve_a_turn()
    {
        var tools = Path.Combine(fx.Work, "tools");
        foreach (var id in Tools)
        {
            await Commands.RunAsync("dotnet", fx.Work, PackagesFixture.CommandTimeout, "tool", "install", id, "--tool-path", tools, "--version", fx.Version, "--add-source", fx.Feed);
        }

        var help = await Commands.RunAsync(Path.Combine(tools, "fantasy-gateway"), fx.Work, TimeSpan.FromMinutes(1), "--help");
        Assert.Contains("Fantasy:Upstream:BaseUrl", help, StringComparison.Ordinal);
        Assert.Contains("Fantasy:Tenants:<name>:Limits:RequestsPerMinute", help, StringComparison.Ordinal);

        // The simulator tool, then the gateway tool in front of it; a turn through both.
        var simStart = Commands.Start(Path.Combine(tools, "fantasy-simulator"), fx.Work, "--port", "0");
        using var sim = Process.Start(simStart)!;
        var simPort = await FirstLineAsync(sim, "LISTENING ");
        var gwDir = Path.Combine(fx.Work, "gateway-run");
        Directory.CreateDirectory(gwDir);
        var gwStart = Commands.Start(Path.Combine(tools, "fantasy-gateway"), gwDir, "--urls", "http://127.0.0.1:0");
        gwStart.Environment["Fantasy__Upstream__BaseUrl"] = $"http://127.0.0.1:{simPort}/v1";
        gwStart.Environment["Fantasy__Upstream__ApiKey"] = "sk-tool";
        gwStart.Environment["Fantasy__Gateway__WarmUp"] = "false";
        gwStart.Environment.Remove("ASPNETCORE_URLS");
        using var gateway = Process.Start(gwStart)!;
        try
        {
            var ready = await FirstLineAsync(gateway, "READY ");
            var baseUrl = ready.Split(' ')[0];
            var body = await HelloAsync(baseUrl);
            Assert.Contains("ok: 1", body, StringComparison.Ordinal);
            using var http = new HttpClient();
            var stats = await http.GetStringAsync($"http://127.0.0.1:{simPort}/_stats");
            Assert.Contains("\"response_create_frames\":1", stats, StringComparison.Ordinal);

            // It keeps conversations where it runs: data/fantasy.db in its working directory.
            Assert.True(File.Exists(Path.Combine(gwDir, "data", "fantasy.db")));
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            sim.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync();
            await sim.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task The_gateway_published_self_contained_runs_on_its_own_and_serves_a_turn()
    {
        // The README's command, on the copied sources: a self-contained linux-x64 gateway (ReadyToRun).
        var published = Path.Combine(fx.Work, "published");
        await Commands.RunAsync("dotnet", fx.Source, PackagesFixture.CommandTimeout, "publish", "src/Host", "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", published);
        Assert.True(File.Exists(Path.Combine(published, "libcoreclr.so")), "not self-contained: the runtime is not beside the gateway");

        var runDir = Path.Combine(fx.Work, "published-run");
        Directory.CreateDirectory(runDir);
        var start = Commands.Start(Path.Combine(published, "Fantasy.Actors.Host"), runDir, "--urls", "http://127.0.0.1:0");
        start.Environment["Fantasy__Gateway__WarmUp"] = "false";
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("DOTNET_ROOT"); // it must not need the machine's runtime
        using var gateway = Process.Start(start)!;
        try
        {
            var ready = await FirstLineAsync(gateway, "READY ");
            Assert.Contains("embedded simulator", ready, StringComparison.Ordinal);
            var body = await HelloAsync(ready.Split(' ')[0]);
            Assert.Contains("ok: 1", body, StringComparison.Ordinal);
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync();
        }
    }

    /// <summary>A fresh console project in <paramref name="directory"/> that references the packages (and <paramref name="more"/>) only.</summary>
    private void WriteProject(string directory, string name, params (string Id, string Version)[] more)
    {
        var references = new[] { ("Fantasy.Actors.Extensions.AI", fx.Version), ("Fantasy.Actors.Simulator", fx.Version) }.Concat(more)
            .Select(r => $"""    <PackageReference Include="{r.Item1}" Version="{r.Item2}" />""");
        File.WriteAllText(Path.Combine(directory, name), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
            {string.Join('\n', references)}
              </ItemGroup>
            </Project>
            """);
    }

    /// <summary>A one-off turn through a gateway at <paramref name="baseUrl"/> as the development tenant: the response's body, checked to be a success.</summary>
    private static async Task<string> HelloAsync(string baseUrl)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/responses")
        {
            Content = new StringContent("""{"model":"m","input":"hello"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-fantasy-dev");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return body;
    }

    /// <summary>The rest of the first output line that starts with <paramref name="prefix"/>.</summary>
    internal static async Task<string> FirstLineAsync(Process process, string prefix)
    {
        using var limit = new CancellationTokenSource(Patience);
        var seen = new StringBuilder();
        while (await process.StandardOutput.ReadLineAsync(limit.Token) is { } line)
        {
            seen.AppendLine(line);
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                _ = DrainAsync(process.StandardOutput);
                _ = DrainAsync(process.StandardError);
                return line[prefix.Length..].Trim();
            }
        }

        throw new InvalidOperationException($"{process.StartInfo.FileName} ended before '{prefix}':\n{seen}\n{await process.StandardError.ReadToEndAsync()}");
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is not null)
        {
        }
    }
}
