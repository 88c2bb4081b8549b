using Fantasy.Actors.Sessions;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>The session's rotation, idle-close and idle-stop deadlines behind one timer.</summary>
public sealed class SessionDeadlinesSpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_timer_is_set_for_the_earliest_deadline_and_not_again_for_a_later_one()
    {
        var d = new SessionDeadlines();
        d.StopAt(T0.AddMinutes(60));
        Assert.Equal(TimeSpan.FromMinutes(60), d.Rearm(T0));

        d.RotateAt(T0.AddMinutes(55), epoch: 1);
        Assert.Equal(TimeSpan.FromMinutes(55), d.Rearm(T0)); // earlier than the pending timer: set again

        d.IdleFrom(T0.AddMinutes(5), epoch: 1, stopAt: T0.AddMinutes(60));
        Assert.Equal(TimeSpan.FromMinutes(5), d.Rearm(T0));

        // A turn, then idle again a minute later: the deadlines move later, the pending timer (5 min) stays.
        d.Busy();
        Assert.Null(d.Rearm(T0.AddMinutes(1)));
        d.IdleFrom(T0.AddMinutes(6), epoch: 1, stopAt: T0.AddMinutes(61));
        Assert.Null(d.Rearm(T0.AddMinutes(1)));

        // The timer fires at 5 min: nothing is due yet; it is set for the idle close at 6.
        var (due, _, _) = d.Fired(T0.AddMinutes(5));
        Assert.Equal(SessionDeadlines.Due.None, due);
        Assert.Equal(TimeSpan.FromMinutes(1), d.Rearm(T0.AddMinutes(5)));

        var fired = d.Fired(T0.AddMinutes(6));
        Assert.Equal(SessionDeadlines.Due.IdleClose, fired.Due);
        Assert.Equal(1, fired.IdleCloseEpoch);
        Assert.Equal(TimeSpan.FromMinutes(49), d.Rearm(T0.AddMinutes(6))); // the rotation at 55 is next
    }

    [Fact]
    public void Deadlines_due_together_are_reported_together_and_cleared()
    {
        var d = new SessionDeadlines();
        d.RotateAt(T0.AddMinutes(5), epoch: 3);
        d.IdleFrom(T0.AddMinutes(5), epoch: 2, stopAt: T0.AddMinutes(5));
        Assert.Equal(TimeSpan.FromMinutes(5), d.Rearm(T0));

        var fired = d.Fired(T0.AddMinutes(5));
        Assert.Equal(SessionDeadlines.Due.Rotate | SessionDeadlines.Due.IdleClose | SessionDeadlines.Due.Stop, fired.Due);
        Assert.Equal((3L, 2L), (fired.RotateEpoch, fired.IdleCloseEpoch));
        Assert.Null(d.Rearm(T0.AddMinutes(5))); // nothing left: no timer
        Assert.Equal(SessionDeadlines.Due.None, d.Fired(T0.AddMinutes(90)).Due);
    }

    [Fact]
    public void A_timer_that_fires_early_is_set_again_for_the_rest_and_a_past_deadline_fires_at_once()
    {
        var d = new SessionDeadlines();
        d.StopAt(T0.AddMinutes(1));
        d.Rearm(T0);
        Assert.Equal(SessionDeadlines.Due.None, d.Fired(T0.AddSeconds(59.99)).Due);
        Assert.Equal(TimeSpan.FromMilliseconds(10), d.Rearm(T0.AddSeconds(59.99)));

        d.Fired(T0.AddSeconds(59.99));
        Assert.Equal(TimeSpan.FromMilliseconds(1), d.Rearm(T0.AddMinutes(2))); // overdue: as soon as possible
        d.ClearRotate();
        Assert.Equal(SessionDeadlines.Due.Stop, d.Fired(T0.AddMinutes(2)).Due);
    }
}
