using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Fantasy.Actors.Configuration;

namespace Fantasy.Actors.Limits;

/// <summary>
/// The budget actors of an actor system, one per upstream credential (API key, organization, project and base URL):
/// every session manager that uses the same credential shares one, so two tenants on the shared key meet one budget.
/// </summary>
internal sealed class UpstreamBudgets : IExtension
{
    private readonly ConcurrentDictionary<string, Lazy<IActorRef>> budgets = new(StringComparer.Ordinal);
    private readonly ActorSystem system;

    public UpstreamBudgets(ActorSystem system) => this.system = system;

    /// <summary>The budget for <paramref name="credentials"/> at <paramref name="settings"/>' upstream; null when <c>fantasy.rate-limits.enabled</c> is off.</summary>
    public static IActorRef? For(ActorSystem system, FantasySettings settings, UpstreamCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(credentials);
        if (!settings.RateLimits.Enabled)
        {
            return null;
        }

        var self = system.WithExtension<UpstreamBudgets, Provider>();
        var name = Name(settings.Upstream.BaseUrl, credentials);
        return self.budgets.GetOrAdd(name, n => new Lazy<IActorRef>(() => self.system.ActorOf(UpstreamBudgetActor.Props(n, settings.RateLimits), n))).Value;
    }

    /// <summary>Every budget started in <paramref name="system"/> (cluster mode sets each node's share on them).</summary>
    public static IReadOnlyList<IActorRef> All(ActorSystem system) =>
        system.WithExtension<UpstreamBudgets, Provider>().budgets.Values.Select(l => l.Value).ToList();

    /// <summary>A stable actor name that tells credentials apart without showing the key: its host and a digest.</summary>
    internal static string Name(Uri baseUrl, UpstreamCredentials credentials)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{baseUrl}\n{credentials.ApiKey}\n{credentials.Organization}\n{credentials.Project}"));
        return $"fantasy-budget-{Convert.ToHexStringLower(digest.AsSpan(0, 6))}";
    }

    private sealed class Provider : ExtensionIdProvider<UpstreamBudgets>
    {
        public override UpstreamBudgets CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
