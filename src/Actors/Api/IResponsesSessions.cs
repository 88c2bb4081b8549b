using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Api;

/// <summary>
/// The service as an agent backend uses it: conversations on warm WebSocket sessions, each turn sent as
/// the delta of the full conversation the caller passes.
/// </summary>
public interface IResponsesSessions
{
    /// <summary>
    /// Runs one turn of the conversation <paramref name="session"/>. <paramref name="request"/> carries the
    /// FULL conversation (or, with <see cref="TurnOptions.PreviousResponseId"/>, only the new items). Yields the
    /// upstream events, then exactly one <see cref="TurnFinished"/>. Cancelling the token (or leaving the
    /// enumeration early) cancels the turn. A consumer that stops reading slows the upstream socket.
    /// </summary>
    IAsyncEnumerable<TurnEvent> RunTurnAsync(SessionKey session, ResponseRequest request, TurnOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Runs one turn and returns only its terminal.</summary>
    Task<TurnEnd> RunTurnToEndAsync(SessionKey session, ResponseRequest request, TurnOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>The session's status, or null when it does not exist.</summary>
    Task<SessionStatus?> GetStatusAsync(SessionKey session, CancellationToken cancellationToken = default);

    /// <summary>Closes the session (its turns end); false when it did not exist.</summary>
    Task<bool> CloseAsync(SessionKey session, CancellationToken cancellationToken = default);

    /// <summary>
    /// Closes the session; with <paramref name="forget"/>, its recorded conversation (events, snapshots, response ids) is
    /// deleted from the journal's database first (<c>fantasy.persistence</c>), and a session not running is found there.
    /// </summary>
    /// <exception cref="InvalidOperationException">The records could not be deleted (the message says why).</exception>
    Task<bool> CloseAsync(SessionKey session, bool forget, CancellationToken cancellationToken = default);
}
