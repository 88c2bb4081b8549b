namespace Fantasy.Actors;

internal static class ExceptionText
{
    /// <summary>An exception and its inner ones as one readable line, without repeating a message.</summary>
    public static string Flatten(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : ex; e is not null; e = e.InnerException)
        {
            if (parts.Count == 0 || !parts[^1].Contains(e.Message, StringComparison.Ordinal))
            {
                parts.Add(e.Message);
            }
        }

        return string.Join(" → ", parts);
    }
}
