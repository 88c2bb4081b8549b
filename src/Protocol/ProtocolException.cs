using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.Protocol;

/// <summary>
/// Input that is not a valid protocol message: not JSON, not an object, a missing <c>type</c>,
/// a field of the wrong type, or a truncated frame. The only exception the parsers throw.
/// </summary>
public sealed class ProtocolException : Exception
{
    /// <summary>How much of the offending input is kept for logs.</summary>
    public const int MaxExcerptChars = 256;

    public ProtocolException()
        : this("malformed protocol message", string.Empty)
    {
    }

    public ProtocolException(string message)
        : this(message, string.Empty)
    {
    }

    public ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
        Excerpt = string.Empty;
    }

    public ProtocolException(string message, string excerpt, Exception? innerException = null)
        : base(message, innerException)
    {
        Excerpt = Bound(excerpt);
    }

    public ProtocolException(string message, ReadOnlySpan<byte> input, Exception? innerException = null)
        : this(message, ExcerptOf(input), innerException)
    {
        InputLength = input.Length;
    }

    /// <summary>The start of the offending input, at most <see cref="MaxExcerptChars"/> characters.</summary>
    public string Excerpt { get; }

    /// <summary>The field the failure is at (<c>temperature</c>, <c>input[2].content</c>), when known.</summary>
    public string? Field { get; init; }

    /// <summary>The length in bytes of the whole offending input, when known.</summary>
    public int? InputLength { get; }

    public override string Message => Excerpt.Length == 0 ? base.Message : $"{base.Message} (input: {Excerpt})";

    internal static bool IsParseFailure(Exception ex) =>
        ex is JsonException or InvalidOperationException or FormatException or ArgumentException or OverflowException or NotSupportedException;

    internal static ProtocolException From(Exception ex, ReadOnlySpan<byte> input)
    {
        if (ex is ProtocolException pe)
        {
            return pe;
        }

        var field = ex is JsonException { Path: { Length: > 2 } p } && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : null;
        var what = ex switch
        {
            // The serializer's own text names internal types ("could not be converted to …ResponseRequest"): say what the caller can fix.
            JsonException je when field is not null && je.Message.Contains("could not be converted", StringComparison.Ordinal) => $"invalid value at $.{field}: '{field}' has a value of the wrong type",
            JsonException je when field is not null => $"invalid value for '{field}': {FirstLine(je.Message)}",
            JsonException je => $"invalid JSON: {FirstLine(je.Message)}",
            _ => $"unexpected value: {FirstLine(ex.Message)}",
        };
        return new ProtocolException(what, input, ex) { Field = field };
    }

    private static string FirstLine(string s)
    {
        var i = s.IndexOfAny(['\r', '\n']);
        return i < 0 ? s : s[..i];
    }

    private static string ExcerptOf(ReadOnlySpan<byte> input)
    {
        // Decoding a bounded prefix keeps a 16 MiB frame from turning into a 16 MiB log line.
        var take = Math.Min(input.Length, MaxExcerptChars * 4);
        return Bound(Encoding.UTF8.GetString(input[..take]));
    }

    private static string Bound(string s) => s.Length <= MaxExcerptChars ? s : string.Concat(s.AsSpan(0, MaxExcerptChars), "…");
}
