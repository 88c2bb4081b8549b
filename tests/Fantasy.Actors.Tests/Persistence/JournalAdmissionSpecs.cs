using Fantasy.Actors.Configuration;
using Fantasy.Actors.Persistence;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>Whether a durable session admits a new turn while its store may be down.</summary>
public sealed class JournalAdmissionSpecs
{
    private static JournalVerdict Decide(bool sessionDown = false, bool storeAvailable = true, bool childAlive = true, bool probe = false,
        bool durable = true, PersistenceFailureMode mode = PersistenceFailureMode.Refuse, bool recovering = false) =>
        JournalAdmission.Decide(durable, mode, recovering, sessionDown, storeAvailable, childAlive, () => probe);

    [Fact]
    public void Turns_run_while_the_store_is_up_in_memory_mode_during_recovery_and_for_sessions_that_do_not_write()
    {
        Assert.Equal(JournalVerdict.Run, Decide());
        Assert.Equal(JournalVerdict.Run, Decide(childAlive: false)); // no records yet: the child starts at the first write
        Assert.Equal(JournalVerdict.Run, Decide(sessionDown: true, storeAvailable: false, mode: PersistenceFailureMode.InMemory));
        Assert.Equal(JournalVerdict.Run, Decide(sessionDown: true, storeAvailable: false, recovering: true));
        Assert.Equal(JournalVerdict.Run, Decide(sessionDown: true, storeAvailable: false, durable: false));
    }

    [Fact]
    public void With_the_store_down_one_turn_per_probe_interval_goes_ahead_and_the_others_are_refused()
    {
        // Another session found it down, this one's child is alive: the probe turn runs on it.
        Assert.Equal(JournalVerdict.Run, Decide(storeAvailable: false, probe: true));
        Assert.Equal(JournalVerdict.Refuse, Decide(storeAvailable: false, probe: false));

        // This session's own child failed (or stopped): the probe turn starts it again.
        Assert.Equal(JournalVerdict.RunAndRestartJournal, Decide(sessionDown: true, storeAvailable: false, childAlive: false, probe: true));
        Assert.Equal(JournalVerdict.RunAndRestartJournal, Decide(sessionDown: true, storeAvailable: true, childAlive: false, probe: true));
        Assert.Equal(JournalVerdict.Refuse, Decide(sessionDown: true, storeAvailable: false, childAlive: false, probe: false));
    }

    [Fact]
    public void The_probe_is_taken_only_when_the_store_is_down()
    {
        var taken = 0;
        JournalAdmission.Decide(true, PersistenceFailureMode.Refuse, false, false, true, true, () => ++taken > 0);
        Assert.Equal(0, taken);
        JournalAdmission.Decide(true, PersistenceFailureMode.Refuse, false, false, false, true, () => ++taken > 0);
        Assert.Equal(1, taken);
    }
}
