using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Tests.Sessions;

/// <summary>Reads a turn to its end, checking the turn contract on the way.</summary>
internal static class Turns
{
    /// <summary>The events, then exactly one terminal and nothing after it.</summary>
    public static async Task<(List<ServerEvent> Events, TurnEnd End)> CollectAsync(IAsyncEnumerable<TurnEvent> turn)
    {
        var events = new List<ServerEvent>();
        TurnEnd? end = null;
        TurnStarted? started = null;
        await foreach (var item in turn)
        {
            Assert.Null(end); // nothing after the terminal
            switch (item)
            {
                case TurnStarted s:
                    Assert.Null(started); // once
                    Assert.Empty(events); // before the first event
                    started = s;
                    break;
                case TurnUpstreamEvent e:
                    Assert.NotNull(started);
                    events.Add(e.Event);
                    break;
                case TurnFinished f:
                    end = f.End;
                    break;
            }
        }

        Assert.NotNull(end);
        if (started is not null)
        {
            Assert.Equal(end!.Transport, started.Transport);
        }

        return (events, end!);
    }
}
