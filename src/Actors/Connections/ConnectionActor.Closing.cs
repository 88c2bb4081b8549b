using Fantasy.Actors.Streams;
using System.Net.WebSockets;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Connections.ConnectionProtocol;

namespace Fantasy.Actors.Connections;

/// <summary>The connection's end: the close handshake (Closing), dropping the socket, and its last reports.</summary>
internal sealed partial class ConnectionActor
{
    // ---- Closing ----
    private void BeginClose(ConnectionCause cause, string reason)
    {
        Go(message => Closing(message, cause, reason));
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived && !sendInFlight)
        {
            socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "closing", io.Token)
                .PipeTo(Self, Self, static () => new CloseSent(), static ex => new CloseFailed(ex));
            Timers.StartSingleTimer(CloseTimeoutKey, new CloseTimedOut(), options.CloseTimeout);
        }
        else
        {
            Abandon(cause, reason);
        }
    }

    private void Closing(object message, ConnectionCause cause, string reason)
    {
        switch (message)
        {
            case CloseSent:
                if (socket.State == WebSocketState.Closed)
                {
                    Finish(cause, reason, socket.CloseStatus);
                }

                break;
            case InboundDelivery.Completed:
                // The server's close frame: the handshake is complete once our own close went out too.
                if (socket.State == WebSocketState.Closed)
                {
                    Finish(cause, reason, socket.CloseStatus);
                }

                break;
            case CloseTimedOut:
                Abandon(ConnectionCause.CloseFailed, $"{reason}; the server did not answer the close within {options.CloseTimeout}");
                break;
            case InboundDelivery.Failed f:
                Abandon(ConnectionCause.CloseFailed, $"{reason}; {ExceptionText.Flatten(f.Cause)}");
                break;
            case CloseFailed f:
                Abandon(ConnectionCause.CloseFailed, $"{reason}; sending the close frame failed: {ExceptionText.Flatten(f.Cause)}");
                break;
            case InboundFault fault:
                Abandon(ConnectionCause.CloseFailed, $"{reason}; {ExceptionText.Flatten(fault.Cause)}");
                break;
            case ServerEvent:
                break;
            case StartTurn start:
                Sender.Tell(new TurnRefused(epoch, start.TurnId, RefusalCause.Closing, "the connection is closing"));
                break;
            case Close:
                break;
            default:
                HandleInboundOrLate(message);
                break;
        }
    }

    /// <summary>The server closed first: answer its close frame, then stop.</summary>
    private void ServerClosed()
    {
        var status = socket.CloseStatus;
        var reason = $"the server closed the connection ({status?.ToString() ?? "no close frame"}{Describe(socket.CloseStatusDescription)})";
        if (socket.State == WebSocketState.CloseReceived)
        {
            BeginClose(ConnectionCause.ServerClosed, reason);
        }
        else
        {
            Finish(ConnectionCause.ServerClosed, reason, status);
        }
    }

    /// <summary>Drop the socket without a close handshake and stop.</summary>
    private void Abandon(ConnectionCause cause, string reason)
    {
        killSwitch?.Abort(new OperationCanceledException(reason));
        socket.Abort();
        Finish(cause, reason, null);
    }

    private void Finish(ConnectionCause cause, string reason, WebSocketCloseStatus? status)
    {
        // ConnectionClosed is the last report: a turn this connection still holds is reported before it.
        ReportHeldTurns(cause, reason);
        if (!closedReported)
        {
            closedReported = true;
            log.Info("connection {ConnectionEpoch}: closed: {Reason}", epoch, reason);
            parent.Tell(new ConnectionClosed(epoch, cause, reason, status));
        }

        Context.Stop(Self);
    }

    private void ReportHeldTurns(ConnectionCause cause, string reason)
    {
        if (turn is { } t)
        {
            turn = null;
            parent.Tell(new TurnInterrupted(epoch, t.Id, t.Forwarded, t.FrameSent, cause, reason));
        }

        if (waiting is { } w)
        {
            waiting = null;
            parent.Tell(new TurnInterrupted(epoch, w.TurnId, 0, FrameSent: false, cause, reason));
        }
    }

    protected override void PostStop()
    {
        ReportHeldTurns(ConnectionCause.Stopped, "the connection actor stopped");

        if (!closedReported)
        {
            closedReported = true;
            parent.Tell(new ConnectionClosed(epoch, ConnectionCause.Stopped, "the connection actor stopped", null));
        }

        if (opened)
        {
            FantasyMetrics.SocketClosed();
        }

        io.Cancel();
        killSwitch?.Abort(new OperationCanceledException("the connection actor stopped"));
        socket.Abort();
        socket.Dispose();
        io.Dispose();
    }
}
