using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>The plan for one turn.</summary>
public abstract record ChainPlan
{
    private ChainPlan()
    {
    }

    /// <summary>The input items to send.</summary>
    public abstract IReadOnlyList<JsonElement> Input { get; }

    /// <summary>Send <c>previous_response_id</c> and only the new items.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "The protocol's own word for a chained turn; C# callers only.")]
    public sealed record Continue(string PreviousResponseId, IReadOnlyList<JsonElement> NewItems) : ChainPlan
    {
        public override IReadOnlyList<JsonElement> Input => NewItems;
    }

    /// <summary>Send the full input and no <c>previous_response_id</c>.</summary>
    public sealed record Fresh(IReadOnlyList<JsonElement> FullInput, FreshReason Reason) : ChainPlan
    {
        public override IReadOnlyList<JsonElement> Input => FullInput;
    }
}
