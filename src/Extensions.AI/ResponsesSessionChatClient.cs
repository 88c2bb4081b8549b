using System.Runtime.CompilerServices;
using Fantasy.Actors.Api;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Microsoft.Extensions.AI;

namespace Fantasy.Actors.Extensions.AI;

/// <summary>
/// An <see cref="IChatClient"/> over <see cref="IResponsesSessions"/>: each conversation is a session with one warm
/// WebSocket to the Responses API. <see cref="ChatOptions.ConversationId"/> names the session; every response and
/// update carries it back, also with <c>store:false</c>, so <see cref="FunctionInvokingChatClient"/> sends only the
/// tool results of the next round and the session sends only that delta upstream (<c>previous_response_id</c>). The
/// session, not this client, knows where the conversation stands: a call with a conversation id continues from the
/// session's last completed response — in another process or on another node too, when the service keeps its
/// conversations (<c>fantasy.persistence</c>) — and a conversation id the service has never seen starts a conversation
/// with the call's messages as its whole input, as does a call without one.
/// </summary>
public sealed class ResponsesSessionChatClient : IChatClient
{
    private readonly IResponsesSessions sessions;
    private readonly ResponsesSessionChatClientOptions options;
    private readonly ChatClientMetadata metadata;

    public ResponsesSessionChatClient(IResponsesSessions sessions, ResponsesSessionChatClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        this.sessions = sessions;
        this.options = options ?? new ResponsesSessionChatClientOptions();
        metadata = new ChatClientMetadata("openai", this.options.Endpoint, this.options.DefaultModel);
    }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (key, request, turn) = Prepare(messages, options);
        var end = await sessions.RunTurnToEndAsync(key, request, turn, cancellationToken).ConfigureAwait(false);
        Ended(key, end, cancellationToken);
        var message = new ChatMessage(ChatRole.Assistant, ChatMapping.Contents(end.Result)) { MessageId = end.Result.Output.LastOrDefault(o => o.Type == ItemTypes.Message)?.Id };
        var response = new ChatResponse(message)
        {
            ResponseId = end.ResponseId,
            ConversationId = key.Conversation,
            ModelId = end.Result.Model,
            FinishReason = ChatMapping.Finish(end.Result),
            Usage = ChatMapping.Usage(end.Result.Usage),
            RawRepresentation = end,
        };
        return response;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (key, request, turn) = Prepare(messages, options);
        string? responseId = null;
        string? model = null;
        await foreach (var item in sessions.RunTurnAsync(key, request, turn, cancellationToken).ConfigureAwait(false))
        {
            switch (item)
            {
                case TurnUpstreamEvent { Event: ResponseCreated created }:
                    responseId = created.Response.Id;
                    model = created.Response.Model;
                    break;
                case TurnUpstreamEvent { Event: var e } when ChatMapping.Update(e) is { } update:
                    update.ResponseId = responseId;
                    update.ConversationId = key.Conversation;
                    update.ModelId = model;
                    yield return update;
                    break;
                case TurnFinished finished:
                    Ended(key, finished.End, cancellationToken);
                    yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(ChatMapping.Usage(finished.End.Result.Usage) ?? new UsageDetails())])
                    {
                        ResponseId = finished.End.ResponseId ?? responseId,
                        ConversationId = key.Conversation,
                        ModelId = finished.End.Result.Model ?? model,
                        FinishReason = ChatMapping.Finish(finished.End.Result),
                        RawRepresentation = finished.End,
                    };
                    break;
            }
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? metadata
            : serviceType == typeof(IResponsesSessions) ? sessions
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Nothing to release: the sessions belong to the service.</summary>
    public void Dispose()
    {
    }

    private (SessionKey Key, ResponseRequest Request, TurnOptions Turn) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? chat)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var conversation = chat?.ConversationId is { Length: > 0 } id ? id : "chat-" + Guid.NewGuid().ToString("N");
        var key = new SessionKey(options.Tenant, conversation);
        var request = ChatMapping.Request(messages, chat, this, options.DefaultModel);

        // A named conversation: the messages are what is new since the session's last response (none yet: all of it).
        var turn = chat?.ConversationId is { Length: > 0 } ? ContinueTurn : TurnOptions.Default;
        return (key, request, turn);
    }

    private static readonly TurnOptions ContinueTurn = new() { ContinueSession = true };

    /// <summary>
    /// A turn that did not complete leaves the conversation where it was and throws: <see cref="OperationCanceledException"/> when the caller's token cancelled it (as every
    /// <see cref="IChatClient"/> does), <see cref="InvalidOperationException"/> with the reason otherwise — failed,
    /// rejected, or cancelled by the service (the session closed, the service stopping) — never an empty answer.
    /// </summary>
    private static void Ended(SessionKey key, TurnEnd end, CancellationToken cancellationToken)
    {
        if (end.Outcome is TurnOutcome.Cancelled)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (end.Outcome is not (TurnOutcome.Completed or TurnOutcome.Incomplete))
        {
            throw new InvalidOperationException($"the turn of conversation '{key.Conversation}' ended {end.Outcome}: {end.Reason ?? end.Error?.Message}")
            {
                Data = { ["retryable"] = end.Retryable, ["code"] = end.Error?.Code, ["outcome"] = end.Outcome.ToString() },
            };
        }

    }
}
