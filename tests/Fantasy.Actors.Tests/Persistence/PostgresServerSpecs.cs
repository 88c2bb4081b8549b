using Fantasy.Actors.Testing;
using Npgsql;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>
/// The throwaway PostgreSQL server the durable-state specs run against: a real server of this machine's
/// PostgreSQL, started in a temp directory on a free loopback port. Skipped, with the reason, only where no
/// server binaries are installed.
/// </summary>
public sealed class PostgresServerSpecs
{
    [SkippableFact]
    public async Task A_throwaway_server_keeps_its_data_across_a_stop_and_is_gone_after_dispose()
    {
        var (_, missing) = PostgresServer.Find();
        Skip.If(missing is not null, missing);

        var server = await PostgresServer.StartAsync();
        try
        {
            await using (var connection = new NpgsqlConnection(server.ConnectionString))
            {
                await connection.OpenAsync();
                Assert.True(connection.PostgreSqlVersion.Major >= 15, connection.PostgreSqlVersion.ToString());
                await Execute(connection, "create table marker (text text not null)");
                await Execute(connection, "insert into marker values ('kept across a stop')");
            }

            await server.StopAsync();
            await using (var refused = new NpgsqlConnection(server.ConnectionString))
            {
                await Assert.ThrowsAnyAsync<NpgsqlException>(() => refused.OpenAsync());
            }

            await server.StartAgainAsync();
            await using (var again = new NpgsqlConnection(server.ConnectionString))
            {
                await again.OpenAsync();
                await using var read = new NpgsqlCommand("select text from marker", again);
                Assert.Equal("kept across a stop", await read.ExecuteScalarAsync());
            }
        }
        finally
        {
            await server.DisposeAsync();
        }

        await using var gone = new NpgsqlConnection(server.ConnectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => gone.OpenAsync());
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
