using System.Net;
using System.Text.Json;
using Akka.Actor;
using Fantasy.Actors.Simulator;
using Microsoft.Extensions.DependencyInjection;

namespace Fantasy.Actors.Host.Tests;

/// <summary>
/// Cluster mode and persistence together: every serializer a gateway node binds (cluster messages, journal records,
/// the archive's asks) has its own identifier, so records written in cluster mode are read back by a node that
/// recovers them, and the nodes still ask each other for the responses each keeps.
/// </summary>
public sealed partial class ClusterGatewaySpecs
{
    [Fact]
    public async Task A_durable_cluster_reads_back_its_journal_and_its_nodes_still_ask_each_other_for_kept_responses()
    {
        await using var sim = await ResponsesSimulator.StartAsync();
        var dir = Path.Combine(Path.GetTempPath(), "fantasy-cluster-db-" + Guid.NewGuid().ToString("N")[..10]);
        string[] durable = ["--Fantasy:Persistence:Provider=Sqlite", $"--Fantasy:Persistence:ConnectionString=Data Source={Path.Combine(dir, "fantasy.db")}"];
        using var http = new HttpClient { Timeout = Patience };
        try
        {
            string last;
            await using (var first = await StartAsync(sim, durable))
            {
                var firstCluster = Akka.Cluster.Cluster.Get(first.App.Services.GetRequiredService<ActorSystem>());
                await firstCluster.JoinAsync(firstCluster.SelfAddress).WaitAsync(Patience);
                await using var second = await StartAsync(sim, [.. durable, $"--Fantasy:Cluster:SeedNodes:0={firstCluster.SelfAddress}"]);
                await WaitUpAsync(first, 2);
                await WaitUpAsync(second, 2);

                using (var made = await SendAsync(http, HttpMethod.Post, first, "/v1/responses", "sk-acme", """{"model":"m","store":false,"input":"written in cluster mode"}""", "durable"))
                {
                    var body = await made.Content.ReadAsStringAsync();
                    Assert.True(made.IsSuccessStatusCode, body);
                    last = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
                }

                // Whichever node runs the session, the node that did not serve the request asks the other for what it keeps.
                await WaitForAsync(() => Tenant(second, "acme").Owns(last));
                using var read = await SendAsync(http, HttpMethod.Get, second, $"/v1/responses/{last}/input_items", "sk-acme");
                var items = await read.Content.ReadAsStringAsync();
                Assert.True(read.IsSuccessStatusCode, items);
                Assert.Contains("written in cluster mode", items, StringComparison.Ordinal);
            }

            // A new cluster on the same database: the session recovers its journal and the chain continues on its context.
            await using var again = await StartAsync(sim, durable);
            var againCluster = Akka.Cluster.Cluster.Get(again.App.Services.GetRequiredService<ActorSystem>());
            await againCluster.JoinAsync(againCluster.SelfAddress).WaitAsync(Patience);
            using var chained = await SendAsync(http, HttpMethod.Post, again, "/v1/responses", "sk-acme", $$"""{"model":"m","store":false,"previous_response_id":"{{last}}","input":"after the restart"}""", "durable");
            var answer = await chained.Content.ReadAsStringAsync();
            Assert.True(chained.StatusCode == HttpStatusCode.OK, answer);
            Assert.Contains("ok: 3", answer, StringComparison.Ordinal); // the recovered context: the first input, its output, the new input
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
