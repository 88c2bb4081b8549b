using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Fallback;

/// <summary>
/// When a conversation uses WebSocket mode, when HTTP, and when it tries WebSocket again:
/// a 426 on the upgrade means this endpoint has no WebSocket mode — HTTP for good; any other connect
/// failure sends the turn over HTTP at once and keeps the conversation on HTTP for a cooldown that grows
/// with repeated failures (<c>fallback.cooldown</c> · <c>backoff-factor</c>ⁿ, at most <c>max-cooldown</c>);
/// after it the next turn probes WebSocket again. Auth and invalid-request refusals are not transport
/// problems and never move a turn to HTTP. A plain type, driven by the session with its clock.
/// </summary>
internal sealed class TransportPolicy
{
    private readonly FallbackSettings settings;
    private DateTimeOffset cooldownUntil;
    private int consecutiveFailures;

    public TransportPolicy(FallbackSettings settings) => this.settings = settings;

    /// <summary>The endpoint answered 426: WebSocket mode is not available, for good.</summary>
    public bool Sticky { get; private set; }

    private string reason = "websocket: default";

    internal int ConsecutiveFailures => consecutiveFailures;

    /// <summary>The transport for the next turn at <paramref name="now"/>.</summary>
    public Transport Choose(DateTimeOffset now)
    {
        if (Sticky)
        {
            return Transport.Http;
        }

        return consecutiveFailures > 0 && now < cooldownUntil ? Transport.Http : Transport.WebSocket;
    }

    /// <summary>Why the conversation is on the transport <see cref="Choose"/> gives at <paramref name="now"/>, for status pages and logs.</summary>
    public string Describe(DateTimeOffset now) =>
        !Sticky && consecutiveFailures > 0 && now >= cooldownUntil
            ? $"websocket: probing again after a {CurrentCooldown()} cooldown"
            : reason;

    /// <summary>
    /// A WebSocket connection could not be opened. Returns whether the waiting turn goes over HTTP now
    /// (false: the refusal is not a transport problem, and the turn fails with it).
    /// </summary>
    public bool OnConnectFailed(UpstreamError error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.IsUpgradeRequired)
        {
            Sticky = true;
            reason = "http: the endpoint answered 426 (no WebSocket mode); staying on HTTP";
            return true;
        }

        if (error.Classification == ErrorClass.Fatal)
        {
            return false;
        }

        consecutiveFailures++;
        var cooldown = CurrentCooldown();
        cooldownUntil = now + cooldown;
        reason = $"http: WebSocket connect failed ({error.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? error.Code}: {Trim(error.Message)}); probing again after {cooldown}";
        return true;
    }

    /// <summary>A WebSocket connection opened: the failure streak is over.</summary>
    public void OnConnected()
    {
        if (consecutiveFailures > 0)
        {
            reason = "websocket: connected again";
        }

        consecutiveFailures = 0;
    }

    /// <summary>
    /// How long a turn the HTTP fallback had no room for waits before it is dispatched again (with a WebSocket
    /// probe first): 200 ms doubling per refusal, at most 5 s, ±50 % so that a burst of such turns spreads out.
    /// </summary>
    /// <param name="refusals">How many times the fallback has refused this turn (1 for the first).</param>
    /// <param name="unit">A number in [0, 1) (the jitter).</param>
    public static TimeSpan BusyFallbackWait(int refusals, double unit)
    {
        var baseMs = Math.Min(5_000, 200 * Math.Pow(2, Math.Max(0, refusals - 1)));
        return TimeSpan.FromMilliseconds(baseMs * (0.5 + unit));
    }

    /// <summary>The cooldown after the current number of consecutive failures.</summary>
    public TimeSpan CurrentCooldown()
    {
        var n = Math.Max(0, consecutiveFailures - 1);
        var ticks = settings.Cooldown.Ticks * Math.Pow(settings.BackoffFactor, n);
        return ticks >= settings.MaxCooldown.Ticks ? settings.MaxCooldown : TimeSpan.FromTicks((long)ticks);
    }

    private static string Trim(string message) => message.Length <= 120 ? message : message[..120] + "…";
}
