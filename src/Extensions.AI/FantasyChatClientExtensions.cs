using Fantasy.Actors.Api;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Fantasy.Actors.Extensions.AI;

/// <summary>Registration of <see cref="ResponsesSessionChatClient"/>.</summary>
public static class FantasyChatClientExtensions
{
    /// <summary>
    /// Makes <see cref="IChatClient"/> resolvable over the registered <see cref="IResponsesSessions"/> (register the
    /// service first: <c>AddFantasyActors</c>). Returns the <see cref="ChatClientBuilder"/>, so
    /// <c>UseFunctionInvocation</c>, <c>UseOpenTelemetry</c> and <c>UseLogging</c> compose as usual.
    /// </summary>
    public static ChatClientBuilder AddFantasyChatClient(this IServiceCollection services, Action<ResponsesSessionChatClientOptions>? configure = null)
    {
        var options = new ResponsesSessionChatClientOptions();
        configure?.Invoke(options);
        return services.AddChatClient(sp => new ResponsesSessionChatClient(sp.GetRequiredService<IResponsesSessions>(), options));
    }

    /// <summary>An <see cref="IChatClient"/> over these sessions.</summary>
    public static IChatClient AsChatClient(this IResponsesSessions sessions, ResponsesSessionChatClientOptions? options = null) =>
        new ResponsesSessionChatClient(sessions, options);
}
