using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Configuration;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// What durable sessions share in one actor system: the record store, and the retention actor that purges
/// conversations with no turn for <c>fantasy.persistence.retention</c> (every <c>purge-every</c>, an hour by default).
/// </summary>
internal static class PersistenceServices
{
    private static readonly ConditionalWeakTable<ActorSystem, RecordStore> Stores = new();

    /// <summary>The system's record store, started with the retention purge on first use; null without persistence.</summary>
    /// <exception cref="InvalidOperationException">The actor system's config lacks the journal plugin these settings need.</exception>
    public static RecordStore? Start(ActorSystem system, PersistenceSettings settings)
    {
        if (!settings.Enabled)
        {
            return null;
        }

        if (!system.Settings.Config.HasPath(PersistenceSettings.JournalPluginId + ".class"))
        {
            throw new InvalidOperationException(
                $"fantasy.persistence.provider is {settings.Provider} but the actor system has no {PersistenceSettings.JournalPluginId}: " +
                "create it with FantasyOptions.ToConfig() (or add PersistenceSettings.ToAkkaConfig() to its config)");
        }

        lock (Stores)
        {
            if (Stores.TryGetValue(system, out var store))
            {
                return store;
            }

            store = new RecordStore(settings);
            Stores.Add(system, store);
            if (settings.Retention > TimeSpan.Zero)
            {
                system.ActorOf(Props.Create(() => new RetentionActor(store, settings.Retention, settings.PurgeEvery)), "fantasy-retention");
            }

            return store;
        }
    }
}

/// <summary>Purges conversations past their retention, on a timer; one purge at a time.</summary>
internal sealed class RetentionActor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter log = Context.GetLogger();

    public RetentionActor(RecordStore store, TimeSpan retention, TimeSpan every)
    {
        ReceiveAsync<Purge>(async _ =>
        {
            var cutoff = Context.System.Scheduler.Now - retention;
            try
            {
                var purged = await store.PurgeAsync(cutoff).ConfigureAwait(false);
                if (purged > 0)
                {
                    log.Info("retention: {Conversations} conversations with no turn since {Cutoff} deleted, their response ids with them (fantasy.persistence.retention = {Retention})", purged, cutoff, retention);
                }
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                log.Warning("retention: the purge failed ({Reason}); it runs again in {Every}", e.Message, every);
            }
        });
        Timers!.StartPeriodicTimer("purge", Purge.Instance, every, every);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public sealed class Purge
    {
        public static readonly Purge Instance = new();
    }
}
