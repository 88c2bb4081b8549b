using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// A session's conversation state, without Akka: the chain a connection can continue (the last completed
/// response on that connection), the transcript (the whole input and output of the last completed turn, kept
/// across connections to resend full context), and the plan for the next request.
/// </summary>
internal sealed class SessionChain(int maxTranscriptItems)
{
    /// <summary>The epoch of a turn on no connection (HTTP); connections count from 1, so no chain made over HTTP continues on one.</summary>
    public const long NoConnection = 0;

    /// <summary>The chain the planner may continue (null after anything but a completed turn).</summary>
    private ChainState? chain;

    /// <summary>Full input + output of the last completed turn, kept across connections to resend full context.</summary>
    private ChainState? transcript;

    /// <summary>Whether the last turn that went out was chained (null before any).</summary>
    public bool? LastChained { get; private set; }

    /// <summary>Whether there is a conversation to prime a new connection with.</summary>
    public bool HasTranscript => transcript is not null;

    /// <summary>Full input and output of the last completed turn (what a session's journal records).</summary>
    public ChainState? Transcript => transcript;

    /// <summary>
    /// Takes <paramref name="recorded"/> as the transcript with no chain (a session recovered from its journal, or a
    /// turn whose record could not be written undone): the next turn goes out on a fresh connection with the full
    /// context (or as the caller's whole input), then chains again.
    /// </summary>
    public void Restore(ChainState? recorded)
    {
        chain = null;
        transcript = recorded is null ? null : Bounded(recorded);
    }

    /// <summary>
    /// The plan for <paramref name="submit"/> on connection <paramref name="epoch"/>, and the whole conversation it
    /// amounts to (null when the caller chains from an id this session does not know). <paramref name="forceFresh"/>
    /// sends the full input whatever the chain (a replay, a turn over HTTP).
    /// </summary>
    public (ChainPlan Plan, IReadOnlyList<JsonElement>? FullInput) Plan(SessionProtocol.SubmitTurn submit, long epoch, bool forceFresh)
    {
        var request = submit.Request;
        var explicitId = submit.Options.PreviousResponseId ?? request.PreviousResponseId
            ?? (submit.Options.ContinueSession ? transcript?.ResponseId : null);
        if (explicitId is { Length: > 0 })
        {
            // The caller chains itself. Its id is usable as-is only while this connection still holds it;
            // for an id of this session's own chain, the transcript rebuilds the full context otherwise.
            var known = transcript is { } t && t.ResponseId == explicitId;
            var full = known ? Concat(transcript!, request.Input) : null;
            var onThisConnection = chain is { } ch && ch.ResponseId == explicitId && ch.Epoch == epoch;
            if (known && (forceFresh || !onThisConnection || submit.Options.ResetChain))
            {
                return (new ChainPlan.Fresh(full!, FreshReason.OtherConnection), full);
            }

            if (submit.Options.ResetChain)
            {
                return (new ChainPlan.Fresh(request.Input, FreshReason.ResetRequested), request.Input);
            }

            return (new ChainPlan.Continue(explicitId, request.Input), full);
        }

        var plan = ChainPlanner.Plan(forceFresh ? null : chain, request, epoch, submit.Options.ResetChain, explicitPreviousResponseId: null);
        return (plan, request.Input);
    }

    /// <summary>The turn planned as <paramref name="plan"/> went out (over HTTP nothing counts as chained).</summary>
    public void WentOut(ChainPlan plan, bool overHttp = false) => LastChained = !overHttp && plan is ChainPlan.Continue;

    /// <summary>
    /// A turn ended on connection <paramref name="epoch"/> (<see cref="NoConnection"/> for HTTP). Completed with a
    /// known conversation, it becomes the transcript, and on a connection also the chain; anything else breaks the chain.
    /// </summary>
    public void Ended(long epoch, ResponseRequest request, IReadOnlyList<JsonElement>? fullInput, TurnResult result)
    {
        if (result.Status != TurnStatus.Completed)
        {
            chain = null;
            return;
        }

        if (epoch == NoConnection)
        {
            // A turn served over HTTP resets the WebSocket chain; the transcript keeps the conversation.
            chain = null;
            if (fullInput is not null)
            {
                transcript = Bounded(ChainState.After(NoConnection, request, fullInput, result));
            }

            return;
        }

        // A caller chaining from an id this session does not know leaves no chain (the whole conversation is
        // unknown); the caller's next explicit id still goes out as it is.
        chain = fullInput is not null ? ChainState.After(epoch, request, fullInput, result) : null;
        transcript = chain is null ? null : Bounded(chain);
    }

    /// <summary>The chain cannot be continued: the turn failed, or its connection is gone or replaced.</summary>
    public void Break() => chain = null;

    /// <summary>
    /// A <c>generate:false</c> request carrying the whole transcript, to prime a new connection so the next turn is
    /// a delta again; null without a transcript.
    /// </summary>
    public ResponseRequest? PrimingRequest() =>
        transcript is { } t
            ? ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(t.Settings.GetRawText())).WithInput(Concat(t, []))
            : null;

    private ChainState? Bounded(ChainState state) =>
        state.FullInput.Count + state.Output.Count <= maxTranscriptItems ? state : null;

    private static List<JsonElement> Concat(ChainState state, IReadOnlyList<JsonElement> newItems)
    {
        var all = new List<JsonElement>(state.FullInput.Count + state.Output.Count + newItems.Count);
        all.AddRange(state.FullInput);
        foreach (var item in state.Output)
        {
            all.Add(item.Json);
        }

        all.AddRange(newItems);
        return all;
    }
}
