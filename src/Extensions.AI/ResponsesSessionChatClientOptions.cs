using Fantasy.Actors.Contract;
using Microsoft.Extensions.AI;

namespace Fantasy.Actors.Extensions.AI;

/// <summary>Options of <see cref="ResponsesSessionChatClient"/>.</summary>
public sealed class ResponsesSessionChatClientOptions
{
    /// <summary>The tenant the client's sessions belong to (a <see cref="SessionKey"/> part). Default <c>default</c>.</summary>
    public string Tenant { get; set; } = "default";

    /// <summary>The model when <see cref="ChatOptions.ModelId"/> is not set.</summary>
    public string? DefaultModel { get; set; }

    /// <summary>The endpoint reported by <see cref="ChatClientMetadata"/>. Default <c>https://api.openai.com/v1</c>.</summary>
    public Uri Endpoint { get; set; } = new("https://api.openai.com/v1");


}
