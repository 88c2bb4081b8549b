using System.Text.Json;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Streams;

namespace Fantasy.Actors.Sessions;

/// <summary>The turn that went out: on which transport and connection, as which plan, and how far it got.</summary>
internal sealed class RunningTurn(PendingTurn pending, long epoch, ChainPlan plan, IReadOnlyList<JsonElement>? fullInput)
{
    public PendingTurn Pending { get; } = pending;

    public string Id => Pending.Id;

    public Transport Transport { get; init; } = Transport.WebSocket;

    /// <summary>The connection it was handed to (0 for HTTP).</summary>
    public long Epoch { get; } = epoch;

    public ChainPlan Plan { get; } = plan;

    public bool Chained => Plan is ChainPlan.Continue;

    /// <summary>The whole conversation this turn sends, when known (null for a caller chaining from an unknown id).</summary>
    public IReadOnlyList<JsonElement>? FullInput { get; } = fullInput;

    /// <summary>Events written to the caller.</summary>
    public int Delivered { get; set; }

    /// <summary>A replay-safe error before the first event, held back: the turn is resent instead.</summary>
    public UpstreamError? HeldError { get; set; }

    public bool CancelRequested { get; set; }

    /// <summary>A durable session's <c>response.completed</c>, held until the turn's record is written.</summary>
    public ServerEvent? HeldTerminal { get; set; }

    /// <summary>The connection took the turn: it reported the frame sent, an event, or a refusal.</summary>
    public bool Acknowledged { get; set; }

    /// <summary>Events written to the caller and not yet taken by it (what a caller that stops reading makes the session hold).</summary>
    public UnreadWindow Unread { get; } = new(int.MaxValue, long.MaxValue);

    /// <summary>Ends the turn, stamped with the transport it ran on and whether it went out chained.</summary>
    /// <summary>The request's size in bytes as it went upstream.</summary>
    public int BytesSent { get; init; }

    /// <summary>Why the turn went over HTTP (the fallback policy's reason); null over WebSocket.</summary>
    public string? TransportReason { get; init; }

    public void Finish(TurnEnd end) => Pending.Finish(end with
    {
        Transport = Transport,
        Chained = Chained,
        Diagnostics = new TurnDiagnostics(Pending.Replays, Epoch, BytesSent, TransportReason),
    });
}
