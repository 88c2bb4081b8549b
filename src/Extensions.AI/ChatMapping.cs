using System.Buffers;
using System.Text.Json;
using Fantasy.Actors.Protocol;
using Microsoft.Extensions.AI;

namespace Fantasy.Actors.Extensions.AI;

/// <summary>Microsoft.Extensions.AI's chat types ↔ Responses API input items, options and events.</summary>
internal static class ChatMapping
{
    /// <summary>The request for <paramref name="messages"/> under <paramref name="chat"/>; a <see cref="ChatOptions.RawRepresentationFactory"/> returning a <see cref="ResponseRequest"/> is the base.</summary>
    public static ResponseRequest Request(IEnumerable<ChatMessage> messages, ChatOptions? chat, IChatClient client, string? defaultModel)
    {
        var baseRequest = chat?.RawRepresentationFactory?.Invoke(client) as ResponseRequest;
        var input = Items(messages);
        return new ResponseRequest
        {
            Model = chat?.ModelId ?? baseRequest?.Model ?? defaultModel,
            Instructions = chat?.Instructions ?? baseRequest?.Instructions,
            Input = baseRequest is { Input.Count: > 0 } ? [.. baseRequest.Input, .. input] : input,
            Tools = Tools(chat?.Tools) ?? baseRequest?.Tools,
            ToolChoice = ToolChoice(chat?.ToolMode) ?? baseRequest?.ToolChoice,
            ParallelToolCalls = chat?.AllowMultipleToolCalls ?? baseRequest?.ParallelToolCalls,
            Store = baseRequest?.Store ?? false,
            Reasoning = baseRequest?.Reasoning,
            Text = Format(chat?.ResponseFormat) ?? baseRequest?.Text,
            Include = baseRequest?.Include,
            MaxOutputTokens = chat?.MaxOutputTokens ?? baseRequest?.MaxOutputTokens,
            Metadata = baseRequest?.Metadata,
            PromptCacheKey = baseRequest?.PromptCacheKey,
            Temperature = chat?.Temperature is { } t ? t : baseRequest?.Temperature,
            TopP = chat?.TopP is { } p ? p : baseRequest?.TopP,
            Truncation = baseRequest?.Truncation,
            User = baseRequest?.User,
            PreviousResponseId = baseRequest?.PreviousResponseId,
            Extra = baseRequest?.Extra,
        };
    }

    /// <summary>Messages as input items. Contents that came from this client's own responses go back exactly as the upstream sent them.</summary>
    public static List<JsonElement> Items(IEnumerable<ChatMessage> messages)
    {
        var items = new List<JsonElement>();
        foreach (var message in messages)
        {
            var parts = new List<AIContent>();
            JsonElement? lastRaw = null;
            foreach (var content in message.Contents)
            {
                if (content.RawRepresentation is OutputItem item)
                {
                    Flush(items, message.Role, parts);
                    if (lastRaw is not { } previous || !JsonElement.DeepEquals(previous, item.Json))
                    {
                        items.Add(item.Json);
                        lastRaw = item.Json;
                    }

                    continue;
                }

                switch (content)
                {
                    case FunctionCallContent call:
                        Flush(items, message.Role, parts);
                        items.Add(Json(w =>
                        {
                            w.WriteString("type", ItemTypes.FunctionCall);
                            w.WriteString("call_id", call.CallId);
                            w.WriteString("name", call.Name);
                            w.WriteString("arguments", JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions));
                        }));
                        break;
                    case FunctionResultContent result:
                        Flush(items, message.Role, parts);
                        items.Add(Json(w =>
                        {
                            w.WriteString("type", ItemTypes.FunctionCallOutput);
                            w.WriteString("call_id", result.CallId);
                            w.WriteString("output", result.Result switch
                            {
                                null => string.Empty,
                                string s => s,
                                JsonElement e when e.ValueKind == JsonValueKind.String => e.GetString(),
                                var other => JsonSerializer.Serialize(other, AIJsonUtilities.DefaultOptions),
                            });
                        }));
                        break;
                    case TextContent:
                        parts.Add(content);
                        break;
                    case DataContent or UriContent:
                        parts.Add(Supported(content));
                        break;
                }
            }

            Flush(items, message.Role, parts);
        }

        return items;
    }

    /// <summary>The name a PDF without one is sent under (the API asks for a file name with <c>file_data</c>).</summary>
    private const string DefaultFileName = "document.pdf";

    /// <summary>
    /// Media the Responses API takes as message content: images (<c>input_image</c>) and PDF documents
    /// (<c>input_file</c>). Anything else is refused here, before a request goes out, rather than sent as the wrong part.
    /// </summary>
    private static AIContent Supported(AIContent content)
    {
        var mediaType = content switch
        {
            DataContent data => data.MediaType,
            UriContent uri => uri.MediaType,
            _ => null,
        };
        var supported = content switch
        {
            DataContent data => data.HasTopLevelMediaType("image") || IsPdf(data.MediaType),
            UriContent uri => uri.HasTopLevelMediaType("image") || IsPdf(uri.MediaType),
            _ => true,
        };
        return supported
            ? content
            : throw new NotSupportedException(
                $"Content of media type '{mediaType}' cannot be sent to the Responses API: a message takes images (image/*) as input_image and PDF documents (application/pdf) as input_file.");
    }

    private static bool IsPdf(string mediaType) => string.Equals(mediaType, "application/pdf", StringComparison.OrdinalIgnoreCase);

    /// <summary>Text and images of one role as one message item (a lone text as a plain string).</summary>
    private static void Flush(List<JsonElement> items, ChatRole role, List<AIContent> parts)
    {
        if (parts.Count == 0)
        {
            return;
        }

        var assistant = role == ChatRole.Assistant;
        items.Add(Json(w =>
        {
            w.WriteString("type", ItemTypes.Message);
            w.WriteString("role", role == ChatRole.System ? "system" : role.Value);
            if (parts is [TextContent only] && !assistant)
            {
                w.WriteString("content", only.Text);
                return;
            }

            w.WriteStartArray("content");
            foreach (var part in parts)
            {
                w.WriteStartObject();
                switch (part)
                {
                    case TextContent text:
                        w.WriteString("type", assistant ? ItemTypes.OutputText : ItemTypes.InputText);
                        w.WriteString("text", text.Text);
                        if (assistant)
                        {
                            w.WriteStartArray("annotations");
                            w.WriteEndArray();
                        }

                        break;
                    case UriContent uri when uri.HasTopLevelMediaType("image"):
                        w.WriteString("type", ItemTypes.InputImage);
                        w.WriteString("image_url", uri.Uri.ToString());
                        break;
                    case UriContent uri:
                        w.WriteString("type", ItemTypes.InputFile);
                        w.WriteString("file_url", uri.Uri.ToString());
                        break;
                    case DataContent data when data.HasTopLevelMediaType("image"):
                        w.WriteString("type", ItemTypes.InputImage);
                        w.WriteString("image_url", data.Uri);
                        break;
                    case DataContent data:
                        w.WriteString("type", ItemTypes.InputFile);
                        w.WriteString("filename", data.Name ?? DefaultFileName);
                        w.WriteString("file_data", data.Uri);
                        break;
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }));
        parts.Clear();
    }

    private static JsonElement? Tools(IList<AITool>? tools)
    {
        var functions = tools?.OfType<AIFunctionDeclaration>().ToList();
        if (functions is null || functions.Count == 0)
        {
            return null;
        }

        return Json(w =>
        {
            foreach (var f in functions)
            {
                w.WriteStartObject();
                w.WriteString("type", "function");
                w.WriteString("name", f.Name);
                if (!string.IsNullOrEmpty(f.Description))
                {
                    w.WriteString("description", f.Description);
                }

                w.WritePropertyName("parameters");
                f.JsonSchema.WriteTo(w);
                w.WriteEndObject();
            }
        }, array: true);
    }

    private static JsonElement? ToolChoice(ChatToolMode? mode) => mode switch
    {
        null => null,
        NoneChatToolMode => Value("none"),
        AutoChatToolMode => Value("auto"),
        RequiredChatToolMode { RequiredFunctionName: { } name } => Json(w =>
        {
            w.WriteString("type", "function");
            w.WriteString("name", name);
        }),
        RequiredChatToolMode => Value("required"),
        _ => null,
    };

    private static JsonElement? Format(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatJson { Schema: { } schema } json => Json(w =>
        {
            w.WriteStartObject("format");
            w.WriteString("type", "json_schema");
            w.WriteString("name", json.SchemaName ?? "response");
            if (json.SchemaDescription is { } description)
            {
                w.WriteString("description", description);
            }

            w.WritePropertyName("schema");
            schema.WriteTo(w);
            w.WriteEndObject();
        }),
        ChatResponseFormatJson => Json(w =>
        {
            w.WriteStartObject("format");
            w.WriteString("type", "json_object");
            w.WriteEndObject();
        }),
        ChatResponseFormatText => Json(w =>
        {
            w.WriteStartObject("format");
            w.WriteString("type", "text");
            w.WriteEndObject();
        }),
        _ => null,
    };

    /// <summary>A turn's output as contents: text (with the message item as raw representation), reasoning, complete function calls.</summary>
    public static List<AIContent> Contents(TurnResult result)
    {
        var contents = new List<AIContent>();
        foreach (var item in result.Output)
        {
            switch (item.Type)
            {
                case ItemTypes.Message:
                    contents.Add(new TextContent(item.MessageText()) { RawRepresentation = item });
                    break;
                case ItemTypes.FunctionCall:
                    contents.Add(Call(item));
                    break;
                case ItemTypes.Reasoning:
                    // Each reasoning item carries its own summary; the turn's summary is all of them together.
                    contents.Add(new TextReasoningContent(string.Join("\n", item.ReasoningSummary())) { RawRepresentation = item });
                    break;
            }
        }

        return contents;
    }

    /// <summary>The update an event makes for a streaming caller, or null for an event that makes none.</summary>
    public static ChatResponseUpdate? Update(ServerEvent e) => e switch
    {
        OutputTextDelta d => new ChatResponseUpdate(ChatRole.Assistant, [new TextContent(d.Delta)]) { MessageId = d.ItemId, RawRepresentation = e },
        ReasoningSummaryTextDelta r => new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent(r.Delta)]) { MessageId = r.ItemId, RawRepresentation = e },
        ReasoningTextDelta r => new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent(r.Delta)]) { MessageId = r.ItemId, RawRepresentation = e },
        OutputItemDone { Item.IsFunctionCall: true } done => new ChatResponseUpdate(ChatRole.Assistant, [Call(done.Item)]) { MessageId = done.Item.Id, RawRepresentation = e },
        _ => null,
    };

    private static FunctionCallContent Call(OutputItem item)
    {
        var call = FunctionCallContent.CreateFromParsedArguments(item.Arguments ?? "{}", item.CallId ?? string.Empty, item.Name ?? string.Empty,
            static json => JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions));
        call.RawRepresentation = item;
        return call;
    }

    public static ChatFinishReason? Finish(TurnResult result) => result.FinishReason switch
    {
        FinishReason.Stop => ChatFinishReason.Stop,
        FinishReason.ToolCalls => ChatFinishReason.ToolCalls,
        FinishReason.Length => ChatFinishReason.Length,
        FinishReason.ContentFilter => ChatFinishReason.ContentFilter,
        _ => null,
    };

    public static UsageDetails? Usage(Usage? usage) => usage is null ? null : new UsageDetails
    {
        InputTokenCount = usage.InputTokens,
        OutputTokenCount = usage.OutputTokens,
        TotalTokenCount = usage.TotalTokens,
        AdditionalCounts = new AdditionalPropertiesDictionary<long>
        {
            ["InputTokenDetails.CachedTokenCount"] = usage.CachedTokens,
            ["OutputTokenDetails.ReasoningTokenCount"] = usage.ReasoningTokens,
        },
    };

    private static JsonElement Value(string text) => JsonSerializer.SerializeToElement(text, AIJsonUtilities.DefaultOptions);

    private static JsonElement Json(Action<Utf8JsonWriter> write, bool array = false)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            if (array)
            {
                w.WriteStartArray();
            }
            else
            {
                w.WriteStartObject();
            }

            write(w);
            if (array)
            {
                w.WriteEndArray();
            }
            else
            {
                w.WriteEndObject();
            }
        }

        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }
}
