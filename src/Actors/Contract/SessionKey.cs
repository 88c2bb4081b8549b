using System.Text.RegularExpressions;

namespace Fantasy.Actors.Contract;

/// <summary>
/// Names one conversation inside one tenant. Both parts are 1–128 characters of <c>[A-Za-z0-9_.:-]</c>;
/// the session id is <c>{tenant}~{conversation}</c>, so tenants can never collide.
/// </summary>
public readonly partial record struct SessionKey
{
    public SessionKey(string tenant, string conversation)
    {
        Tenant = Validate(tenant, nameof(tenant));
        Conversation = Validate(conversation, nameof(conversation));
    }

    public string Tenant { get; }

    public string Conversation { get; }

    /// <summary>The session's id and actor name.</summary>
    public string SessionId => Tenant + "~" + Conversation;

    public override string ToString() => SessionId;

    /// <summary>Whether <paramref name="value"/> is a valid tenant or conversation name.</summary>
    public static bool IsValidPart(string? value) => value is { Length: >= 1 and <= 128 } && Allowed().IsMatch(value);

    private static string Validate(string value, string name)
    {
        if (!IsValidPart(value))
        {
            throw new ArgumentException(
                $"a {name} name must be 1–128 characters of letters, digits, '_', '.', ':' or '-'; got {(value is null ? "null" : $"'{(value.Length > 40 ? value[..40] + "…" : value)}' ({value.Length} chars)")}",
                name);
        }

        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9_.:-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();
}
