namespace Fantasy.Actors.Protocol;

/// <summary>Why a turn must send its full input.</summary>
public enum FreshReason
{
    NoChain,
    ResetRequested,

    /// <summary>The chain was made on another connection: the server's cache of it is gone.</summary>
    OtherConnection,
    PreviousNotCompleted,

    /// <summary>A non-input field (model, instructions, tools, …) changed.</summary>
    SettingsChanged,

    /// <summary>The new input does not start with the previous input followed by the previous output.</summary>
    HistoryDiverged,
}
