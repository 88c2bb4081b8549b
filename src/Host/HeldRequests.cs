using System.Collections.Concurrent;
using System.Text.Json;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Host;

/// <summary>
/// A tenant's last request and output per named session, so each session's next body is read against them
/// (<c>ResponseRequest.Parse(body, previous, output)</c>: the previous input recognised by the digest of its bytes) and
/// resending a long history costs what is new. References to what the sessions hold anyway; an entry no turn used for
/// <see cref="KeptFor"/> is not read against and is swept (at most once per <see cref="KeptFor"/>); when
/// <see cref="Capacity"/> is reached the least recently used entry makes room — a full cache that refused new sessions
/// left every later one parsing its whole body.
/// </summary>
internal sealed class HeldRequests(TimeProvider time, int capacity = HeldRequests.DefaultCapacity)
{
    public const int DefaultCapacity = 10_000;

    /// <summary>How long a session's last request is kept without a turn.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, (ResponseRequest Request, IReadOnlyList<JsonElement> Output, string? ResponseId, long At)> held = new(StringComparer.Ordinal);
    private long lastSweep;

    public int Capacity { get; } = capacity;

    /// <summary>The session's last request and its output, unless none was kept or it is older than <see cref="KeptFor"/>.</summary>
    public (ResponseRequest Request, IReadOnlyList<JsonElement> Output, string? ResponseId)? Get(string conversation) =>
        held.TryGetValue(conversation, out var entry) && entry.At >= Now() - (long)KeptFor.TotalMilliseconds
            ? (entry.Request, entry.Output, entry.ResponseId)
            : null;

    /// <summary>The session's turn completed: its request and output are what the next body is read against.</summary>
    public void Keep(string conversation, ResponseRequest request, IReadOnlyList<JsonElement> output, string? responseId = null)
    {
        var now = Now();
        var stale = now - (long)KeptFor.TotalMilliseconds;
        if (Interlocked.Read(ref lastSweep) < stale)
        {
            Interlocked.Exchange(ref lastSweep, now);
            foreach (var (id, entry) in held)
            {
                if (entry.At < stale)
                {
                    held.TryRemove(id, out _);
                }
            }
        }

        if (held.Count >= Capacity && !held.ContainsKey(conversation))
        {
            string? oldest = null;
            var oldestAt = long.MaxValue;
            foreach (var (id, entry) in held)
            {
                if (entry.At < oldestAt)
                {
                    (oldest, oldestAt) = (id, entry.At);
                }
            }

            if (oldest is not null)
            {
                held.TryRemove(oldest, out _);
            }
        }

        held[conversation] = (request, output, responseId, now);
    }

    /// <summary>The session's turn did not complete: its next body is read from scratch.</summary>
    public void Forget(string conversation) => held.TryRemove(conversation, out _);

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();
}
