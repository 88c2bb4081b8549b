namespace Fantasy.Actors.Persistence;

/// <summary>
/// What the sessions of one service know about their journal: whether its last write or read worked, why not, and
/// counts of slow and failed writes. Shared by every session of a <see cref="Api.ResponsesSessions"/>; read by
/// readiness checks (the Host's <c>/readyz</c>). While the journal is down one session at a time may try it again,
/// at most once per <c>fantasy.persistence.probe-interval</c>; the others refuse at once (or run in memory).
/// </summary>
public sealed class JournalHealth
{
    /// <summary>A write slower than this counts as slow.</summary>
    public static readonly TimeSpan SlowWrite = TimeSpan.FromMilliseconds(250);

    private readonly object gate = new();
    private readonly TimeSpan probeInterval;
    private DateTimeOffset nextProbe = DateTimeOffset.MinValue;
    private DateTimeOffset nextWarning = DateTimeOffset.MinValue;
    private long failedWrites;
    private long slowWrites;
    private long writes;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Akka.Actor.ActorSystem, JournalHealth> PerSystem = new();

    /// <summary>The health shared by every session of <paramref name="system"/> (made on first use).</summary>
    internal static JournalHealth For(Akka.Actor.ActorSystem system, Configuration.PersistenceSettings settings) =>
        PerSystem.GetValue(system, _ => new JournalHealth(settings.Enabled, settings.ProbeInterval));

    internal JournalHealth(bool enabled, TimeSpan probeInterval)
    {
        Enabled = enabled;
        this.probeInterval = probeInterval;
    }

    /// <summary>Whether sessions have a journal at all (<c>fantasy.persistence.provider</c> is not none).</summary>
    public bool Enabled { get; }

    /// <summary>Whether the last write or read of the journal worked (true before the first, and without a journal).</summary>
    public bool Available { get; private set; } = true;

    /// <summary>Why the journal is unavailable; null while it is available.</summary>
    public string? Problem { get; private set; }

    /// <summary>When the journal became unavailable.</summary>
    public DateTimeOffset? DownSince { get; private set; }

    public long Writes => Interlocked.Read(ref writes);

    public long FailedWrites => Interlocked.Read(ref failedWrites);

    public long SlowWrites => Interlocked.Read(ref slowWrites);

    internal void Worked()
    {
        if (!Available)
        {
            lock (gate)
            {
                Available = true;
                Problem = null;
                DownSince = null;
            }
        }
    }

    internal void Wrote(TimeSpan took)
    {
        Interlocked.Increment(ref writes);
        if (took > SlowWrite)
        {
            Interlocked.Increment(ref slowWrites);
        }

        Worked();
    }

    internal void Failed(string problem, DateTimeOffset now, bool write)
    {
        if (write)
        {
            Interlocked.Increment(ref failedWrites);
        }

        lock (gate)
        {
            if (Available)
            {
                DownSince = now;
                nextProbe = now + probeInterval;
            }

            Available = false;
            Problem = problem;
        }
    }

    /// <summary>While the journal is down: true for one caller per probe interval (that one tries the journal again).</summary>
    internal bool TryProbe(DateTimeOffset now)
    {
        lock (gate)
        {
            if (Available || now < nextProbe)
            {
                return Available;
            }

            nextProbe = now + probeInterval;
            return true;
        }
    }

    /// <summary>True at most once a minute: the in-memory mode's warning is logged then.</summary>
    internal bool ShouldWarn(DateTimeOffset now)
    {
        lock (gate)
        {
            if (now < nextWarning)
            {
                return false;
            }

            nextWarning = now + TimeSpan.FromMinutes(1);
            return true;
        }
    }
}
