using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Fantasy.Actors.Protocol.Json;

/// <summary>
/// Whether two <see cref="JsonElement"/>s are the very same element (the same document, the same position in it),
/// read from the elements themselves without touching their documents — a caller resending its history passes the
/// same elements again, and comparing their bytes would visit every item's document (one cache miss after another on
/// a long conversation). Through the runtime's own accessors (<see cref="UnsafeAccessorAttribute"/>) of
/// <see cref="JsonElement"/>'s fields; on a runtime whose fields differ this answers false and callers compare bytes.
/// </summary>
internal static class JsonIdentity
{
    private static bool unavailable;

    public static bool Same(JsonElement a, JsonElement b)
    {
        if (unavailable)
        {
            return false;
        }

        try
        {
            return Index(ref a) == Index(ref b) && ReferenceEquals(Parent(ref a), Parent(ref b)) && Parent(ref a) is not null;
        }
        catch (MissingFieldException)
        {
            unavailable = true;
            return false;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_parent")]
    private static extern ref JsonDocument Parent(ref JsonElement element);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_idx")]
    private static extern ref int Index(ref JsonElement element);
}
