using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Connections.ConnectionProtocol;

namespace Fantasy.Actors.Connections;

/// <summary>The connection's first phase: the WebSocket upgrade, with a turn that may wait for it.</summary>
internal sealed partial class ConnectionActor
{
    // ---- Connecting ----
    private void Connecting(object message)
    {
        switch (message)
        {
            case ConnectSucceeded succeeded:
                Timers.Cancel(ConnectTimeoutKey);
                opened = true;
                FantasyMetrics.SocketOpened();
                log.Info("connection {ConnectionEpoch}: open to {Url}", epoch, options.Url);
                parent.Tell(new Connected(epoch, succeeded.Headers.Count > 0 ? succeeded.Headers : null));
                StartInbound();
                Go(Idle);
                if (closeRequested)
                {
                    BeginClose(ConnectionCause.PlannedClose, "close requested while connecting");
                }
                else if (waiting is { } w)
                {
                    waiting = null;
                    Begin(w);
                }

                break;
            case ConnectErrored e:
                Timers.Cancel(ConnectTimeoutKey);
                FailConnect(Describe(e.Cause), timedOut: false);
                break;
            case ConnectTimedOut:
                io.Cancel();
                FailConnect(UpstreamError.FromTransport($"the WebSocket upgrade did not complete within {options.ConnectTimeout}"), timedOut: true);
                break;
            case StartTurn start when waiting is null:
                waiting = start;
                break;
            case StartTurn start:
                Sender.Tell(new TurnRefused(epoch, start.TurnId, RefusalCause.Busy, $"busy: turn {waiting!.TurnId} is waiting for the connection"));
                break;
            case CancelTurn cancel when waiting?.TurnId == cancel.TurnId:
                waiting = null;
                parent.Tell(new TurnCancelled(epoch, cancel.TurnId, 0));
                break;
            case Close:
                closeRequested = true;
                break;
            default:
                HandleInboundOrLate(message);
                break;
        }
    }

    private void FailConnect(UpstreamError error, bool timedOut)
    {
        log.Warning("connection {ConnectionEpoch}: connect to {Url} failed: {Failure}", epoch, options.Url, error);
        parent.Tell(new ConnectFailed(epoch, error, timedOut));
        if (waiting is { } w)
        {
            parent.Tell(new TurnInterrupted(epoch, w.TurnId, 0, FrameSent: false, ConnectionCause.ConnectFailed, $"the connection could not be opened: {error.Message}"));
            waiting = null;
        }

        Finish(ConnectionCause.ConnectFailed, $"connect failed: {error.Message}", null);
    }
}
