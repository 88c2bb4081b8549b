namespace Fantasy.Actors.Protocol;

/// <summary>What a client may do after an error.</summary>
public enum ErrorClass
{
    /// <summary>Provably nothing was generated: resend once, full input, on a fresh connection (or over HTTP).</summary>
    ReplaySafe,

    /// <summary>Transient (408/409/429/5xx, overload): retry, but only if no event of the turn reached the caller.</summary>
    Retryable,

    /// <summary>Retrying cannot help (invalid request, context length, quota, auth).</summary>
    Fatal,
}
