using System.Globalization;
using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// A page of items as the API lists them (<c>GET /v1/responses/{id}/input_items</c>, a conversation's items):
/// <c>{"object":"list","data":[…],"first_id","last_id","has_more"}</c>, with the API's parameters — <c>limit</c>
/// (1–100, default 20), <c>order</c> (<c>asc</c> or <c>desc</c>, default <c>desc</c>) and <c>after</c> (an item id).
/// Items are written as the API returns them: each with an <c>id</c> (one is given to an item sent without one,
/// stable for its position) and a <c>type</c>; a message's string content becomes one text part.
/// </summary>
public static class ItemList
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    /// <summary>Reads the list parameters; an error message naming the parameter when one is invalid.</summary>
    public static (ItemListQuery? Query, string? Error, string? Param) ReadQuery(string? limit, string? order, string? after)
    {
        var n = DefaultLimit;
        if (!string.IsNullOrEmpty(limit) && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n is < 1 or > MaxLimit))
        {
            return (null, $"Invalid 'limit': expected an integer between 1 and {MaxLimit}, got '{limit}'.", "limit");
        }

        var ascending = false;
        if (!string.IsNullOrEmpty(order))
        {
            if (order is not ("asc" or "desc"))
            {
                return (null, $"Invalid value for 'order': expected one of 'asc' or 'desc', got '{order}'.", "order");
            }

            ascending = order == "asc";
        }

        return (new ItemListQuery(n, ascending, string.IsNullOrEmpty(after) ? null : after), null, null);
    }

    /// <summary>The id the item carries, or the one it is given at <paramref name="index"/> of a list named by <paramref name="owner"/>.</summary>
    public static string IdOf(JsonElement item, string owner, int index) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
            ? id.GetString()!
            : $"msg_{Tail(owner)}{index.ToString("x4", CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Writes the page of <paramref name="items"/> the query asks for; false when <c>after</c> names no item of the
    /// list (nothing written: the API answers 400 for it).
    /// </summary>
    public static bool TryWrite(Utf8JsonWriter writer, IReadOnlyList<JsonElement> items, string owner, ItemListQuery query)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(query);
        var order = Enumerable.Range(0, items.Count);
        if (!query.Ascending)
        {
            order = order.Reverse();
        }

        var positions = order.ToList();
        var start = 0;
        if (query.After is { } after)
        {
            var at = positions.FindIndex(i => IdOf(items[i], owner, i) == after);
            if (at < 0)
            {
                return false;
            }

            start = at + 1;
        }

        var page = positions.Skip(start).Take(query.Limit).ToList();
        writer.WriteStartObject();
        writer.WriteString("object"u8, "list"u8);
        writer.WriteStartArray("data"u8);
        foreach (var i in page)
        {
            WriteItem(writer, items[i], IdOf(items[i], owner, i));
        }

        writer.WriteEndArray();
        if (page.Count > 0)
        {
            writer.WriteString("first_id"u8, IdOf(items[page[0]], owner, page[0]));
            writer.WriteString("last_id"u8, IdOf(items[page[^1]], owner, page[^1]));
        }
        else
        {
            writer.WriteNull("first_id"u8);
            writer.WriteNull("last_id"u8);
        }

        writer.WriteBoolean("has_more"u8, start + page.Count < positions.Count);
        writer.WriteEndObject();
        return true;
    }

    /// <summary>One item with its id and type; a message's string content as one text part.</summary>
    public static void WriteItem(Utf8JsonWriter writer, JsonElement item, string id)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (item.ValueKind != JsonValueKind.Object)
        {
            item.WriteTo(writer);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("id"u8, id);
        var hasType = item.TryGetProperty("type", out var type);
        var role = item.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        if (!hasType)
        {
            writer.WriteString("type"u8, "message"u8);
        }

        foreach (var property in item.EnumerateObject())
        {
            if (property.NameEquals("id"u8))
            {
                continue;
            }

            if (property.NameEquals("content"u8) && property.Value.ValueKind == JsonValueKind.String && role is not null)
            {
                writer.WriteStartArray("content"u8);
                writer.WriteStartObject();
                writer.WriteString("type"u8, role == "assistant" ? "output_text"u8 : "input_text"u8);
                writer.WriteString("text"u8, property.Value.GetString());
                if (role == "assistant")
                {
                    writer.WriteStartArray("annotations"u8);
                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
                writer.WriteEndArray();
                continue;
            }

            property.WriteTo(writer);
        }

        if (role is not null && !item.TryGetProperty("status", out _) && (!hasType || type.ValueEquals("message"u8)))
        {
            writer.WriteString("status"u8, "completed"u8);
        }

        writer.WriteEndObject();
    }

    private static string Tail(string owner)
    {
        var underscore = owner.IndexOf('_', StringComparison.Ordinal);
        var tail = underscore >= 0 ? owner[(underscore + 1)..] : owner;
        return tail.Length > 24 ? tail[^24..] : tail;
    }
}

/// <summary>The list parameters: at most <paramref name="Limit"/> items, in <paramref name="Ascending"/> order, after the item <paramref name="After"/>.</summary>
public sealed record ItemListQuery(int Limit, bool Ascending, string? After);
