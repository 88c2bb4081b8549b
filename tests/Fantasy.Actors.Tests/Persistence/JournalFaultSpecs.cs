using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Testing;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>
/// The database goes away under running sessions (a real PostgreSQL server, stopped and started again): turns end
/// as configured and never hang, the journal's health says why, and sessions are durable again once it is back.
/// </summary>
public sealed class JournalFaultSpecs : SimulatorAndPostgres
{
    [SkippableFact]
    public async Task With_refuse_a_turn_that_cannot_be_written_fails_retryable_new_turns_are_refused_and_the_journal_is_used_again_once_back()
    {
        Skip.If(Pg is null, PostgresServer.Find().Missing);
        var key = new SessionKey("acme", "faulty");
        string? last;
        await using (var service = DurableService.Start(Sim, "postgresql", Pg!.ConnectionString, "fantasy.persistence.write-timeout = 3s"))
        {
            last = (await service.TurnAsync(key, Request(User("kept one")))).ResponseId;

            await Pg.StopAsync();
            var events = await service.EventsAsync(key, Request(User("lost two")), last).WaitAsync(Patience);
            var failed = Assert.IsType<TurnFinished>(events[^1]).End;
            Assert.Equal(TurnOutcome.Failed, failed.Outcome);
            Assert.True(failed.Retryable);
            Assert.Contains("durable", failed.Reason, StringComparison.Ordinal);
            Assert.Null(failed.ResponseId);
            Assert.DoesNotContain(events, e => e is TurnUpstreamEvent { Event.Type: EventTypes.Completed }); // never told it completed

            Assert.False(service.Sessions.Journal.Available);
            Assert.NotNull(service.Sessions.Journal.Problem);

            // While it is down: refused at once, not run, not hung.
            var refused = await service.TurnAsync(key, Request(User("refused three")), last);
            Assert.Equal(TurnOutcome.Rejected, refused.Outcome);
            Assert.Equal(Rejection.PersistenceUnavailable, refused.Rejection);
            Assert.True(refused.Retryable);

            await Pg.StartAgainAsync();
            TurnEnd? back = null;
            await UntilAsync(async () =>
            {
                back = await service.TurnAsync(key, Request(User("kept four")), last);
                return back.Outcome == TurnOutcome.Completed;
            }, () => $"a turn completing once the database is back (last: {back?.Outcome} {back?.Reason})");
            Assert.True(service.Sessions.Journal.Available);
            last = back!.ResponseId;
        }

        // The turn that failed is not part of the conversation; the one after the database came back is.
        await using var after = DurableService.Start(Sim, "postgresql", Pg.ConnectionString);
        var next = await after.TurnAsync(key, Request(User("five")), last);
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        var texts = Sent.Texts(Sent.Last(Sim));
        Assert.Equal("kept one", texts[0]);
        Assert.Contains("kept four", texts);
        Assert.DoesNotContain("lost two", texts);
        Assert.DoesNotContain("refused three", texts);
        Assert.Equal("five", texts[^1]);
    }

    [SkippableFact]
    public async Task With_in_memory_turns_go_on_while_the_database_is_down_and_the_whole_transcript_is_written_once_it_is_back()
    {
        Skip.If(Pg is null, PostgresServer.Find().Missing);
        var key = new SessionKey("acme", "in-memory");
        string? last;
        await using (var service = DurableService.Start(Sim, "postgresql", Pg!.ConnectionString, "fantasy.persistence.on-failure = in-memory"))
        {
            last = (await service.TurnAsync(key, Request(User("one")))).ResponseId;
            await Pg.StopAsync();
            var two = await service.TurnAsync(key, Request(User("two")), last);
            Assert.Equal(TurnOutcome.Completed, two.Outcome);
            var three = await service.TurnAsync(key, Request(User("three")), two.ResponseId);
            Assert.Equal(TurnOutcome.Completed, three.Outcome);
            Assert.True(three.Chained); // the conversation went on in memory
            Assert.False(service.Sessions.Journal.Available);

            await Pg.StartAgainAsync();
            last = three.ResponseId;
            await UntilAsync(async () =>
            {
                var turn = await service.TurnAsync(key, Request(User("again")), last);
                last = turn.ResponseId;
                return service.Sessions.Journal.Available && service.Sessions.Journal.Writes > 1;
            }, () => $"the journal written again ({service.Sessions.Journal.Problem})");
        }

        await using var after = DurableService.Start(Sim, "postgresql", Pg.ConnectionString);
        var next = await after.TurnAsync(key, Request(User("after restart")), last);
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        var texts = Sent.Texts(Sent.Last(Sim));
        Assert.Equal(["one", "two", "three"], texts.Where(t => t is "one" or "two" or "three"));
        Assert.Equal("after restart", texts[^1]);
    }

    [SkippableFact]
    public async Task A_service_started_while_the_database_is_down_refuses_turns_and_becomes_durable_once_it_answers()
    {
        Skip.If(Pg is null, PostgresServer.Find().Missing);
        var key = new SessionKey("acme", "cold");
        await Pg!.StopAsync();
        await using var service = DurableService.Start(Sim, "postgresql", Pg.ConnectionString);
        var refused = await service.TurnAsync(key, Request(User("too early")));
        Assert.Equal(TurnOutcome.Rejected, refused.Outcome);
        Assert.Equal(Rejection.PersistenceUnavailable, refused.Rejection);

        await Pg.StartAgainAsync();
        TurnEnd? end = null;
        await UntilAsync(async () => (end = await service.TurnAsync(key, Request(User("in time")))).Outcome == TurnOutcome.Completed,
            () => $"a turn completing once the database answers (last: {end?.Outcome} {end?.Reason})");
        Assert.True(service.Sessions.Journal.Available);
    }
}
