using System.Collections.Concurrent;
using System.Text.Json;

namespace Fantasy.Actors.Simulator;

/// <summary>A conversation of the Conversations API: its id, creation time, metadata and items (each with its id, as listed).</summary>
internal sealed class SimulatedConversation(string id, long createdAt)
{
    private readonly List<JsonElement> items = [];

    public string Id { get; } = id;

    public long CreatedAt { get; } = createdAt;

    public JsonElement? Metadata { get; set; }

    public IReadOnlyList<JsonElement> Items
    {
        get
        {
            lock (items)
            {
                return [.. items];
            }
        }
    }

    /// <summary>Adds items, each given an id when it has none; the items as stored.</summary>
    public IReadOnlyList<JsonElement> Add(IEnumerable<JsonElement> added)
    {
        var stored = new List<JsonElement>();
        lock (items)
        {
            foreach (var item in added)
            {
                var id = item.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String
                    ? i.GetString()!
                    : "msg_" + Guid.NewGuid().ToString("N");
                var json = WireWriter.Write(w => Protocol.ItemList.WriteItem(w, item, id));
                var element = JsonDocument.Parse(json).RootElement;
                items.Add(element);
                stored.Add(element);
            }
        }

        return stored;
    }

    public JsonElement? Item(string itemId)
    {
        lock (items)
        {
            var at = items.FindIndex(i => i.GetProperty("id").GetString() == itemId);
            return at < 0 ? null : items[at];
        }
    }

    public bool RemoveItem(string itemId)
    {
        lock (items)
        {
            return items.RemoveAll(i => i.GetProperty("id").GetString() == itemId) > 0;
        }
    }

    /// <summary>The conversation object: <c>{"id","object":"conversation","created_at","metadata"}</c>.</summary>
    public byte[] ToJson() => WireWriter.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("id"u8, Id);
        w.WriteString("object"u8, "conversation"u8);
        w.WriteNumber("created_at"u8, CreatedAt);
        w.WritePropertyName("metadata"u8);
        if (Metadata is { } metadata)
        {
            metadata.WriteTo(w);
        }
        else
        {
            w.WriteStartObject();
            w.WriteEndObject();
        }

        w.WriteEndObject();
    });
}

/// <summary>Every conversation the simulator holds.</summary>
internal sealed class SimulatorConversations
{
    private readonly ConcurrentDictionary<string, SimulatedConversation> conversations = new(StringComparer.Ordinal);

    public SimulatedConversation Create()
    {
        var conversation = new SimulatedConversation("conv_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        conversations[conversation.Id] = conversation;
        return conversation;
    }

    public SimulatedConversation? Get(string id) => conversations.TryGetValue(id, out var c) ? c : null;

    public bool Delete(string id) => conversations.TryRemove(id, out _);

    public int Count => conversations.Count;
}
