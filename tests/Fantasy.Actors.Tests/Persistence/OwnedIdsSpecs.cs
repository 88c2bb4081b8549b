using Akka.Configuration;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Persistence;
using Fantasy.Actors.Testing;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>The durable record of ids a tenant owns beyond its sessions (conversations, deleted responses), on SQLite and PostgreSQL.</summary>
public sealed class OwnedIdsSpecs : SimulatorAndPostgres
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "fantasy-owned-" + Guid.NewGuid().ToString("N")[..10]);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private RecordStore Store(string provider) => new(FantasySettings.FromConfig(ConfigurationFactory.ParseString($"""
        fantasy.persistence.provider = {provider}
        fantasy.persistence.connection-string = "{(provider == "sqlite" ? $"Data Source={Path.Combine(dir, "owned.db")}" : Pg!.ConnectionString)}"
        """).WithFallback(FantasySettings.DefaultConfig)).Persistence);

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Ids_are_recorded_per_tenant_replaced_forgotten_and_old_deletions_purged(string provider)
    {
        Skip.If(provider == "postgresql" && Pg is null, PostgresServer.Find().Missing ?? "no PostgreSQL");
        var store = Store(provider);
        var conversation = "conv_" + Guid.NewGuid().ToString("N");
        var response = "resp_" + Guid.NewGuid().ToString("N");

        Assert.Null(await store.OwnedKindAsync("acme", conversation)); // before the table exists
        await store.RecordOwnedAsync("acme", conversation, RecordStore.OwnedConversation);
        await store.RecordOwnedAsync("acme", response, RecordStore.OwnedConversation);
        await store.RecordOwnedAsync("acme", response, RecordStore.DeletedResponse); // replaced, not duplicated
        Assert.Equal(RecordStore.OwnedConversation, await store.OwnedKindAsync("acme", conversation));
        Assert.Equal(RecordStore.DeletedResponse, await store.OwnedKindAsync("acme", response));
        Assert.Null(await store.OwnedKindAsync("globex", conversation)); // another tenant's id is not this one's

        await store.PurgeAsync(DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Null(await store.OwnedKindAsync("acme", response));
        Assert.Equal(RecordStore.OwnedConversation, await store.OwnedKindAsync("acme", conversation)); // conversations are not purged

        await store.ForgetOwnedAsync("acme", conversation);
        Assert.Null(await store.OwnedKindAsync("acme", conversation));
    }
}
