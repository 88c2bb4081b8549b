using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace Fantasy.Actors.Host;

/// <summary>Messages between gateway nodes about the responses each keeps (<see cref="ResponseArchive"/>).</summary>
internal interface IArchiveMessage
{
}

/// <summary>What to do with a kept response on the node that keeps it.</summary>
internal enum ArchiveAction
{
    Read,
    Cancel,
    Delete,
}

/// <summary>Asks a node for (or to act on) a response it keeps for a tenant.</summary>
internal sealed record ArchiveAsk(string Tenant, string ResponseId, ArchiveAction Action) : IArchiveMessage;

/// <summary>
/// A node's answer: whether it keeps the response; its Response object and context (the items it answered) as JSON;
/// whether it is still running, and whether the action was done (a cancel of a response no longer running is not).
/// </summary>
internal sealed record ArchiveAnswer(bool Found, byte[] Response, byte[] Context, bool Running, bool Done) : IArchiveMessage
{
    public static readonly ArchiveAnswer Missing = new(false, [], [], false, false);
}

/// <summary>
/// Cluster mode: a response is kept by the gateway node whose request ran its turn; another node asked for it
/// (retrieve, input items, cancel, delete) asks the others. Each node runs one <see cref="ArchivePeer"/> answering
/// from its tenants' archives.
/// </summary>
internal static class ArchivePeers
{
    public const string Name = "fantasy-archive";

    /// <summary>How long a node waits for the others' answers.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>The serializer binding of the archive messages (cluster mode's HOCON).</summary>
    public const string Hocon = """
        akka.actor.serializers.fantasy-archive = "Fantasy.Actors.Host.ArchiveSerializer, Fantasy.Actors.Host"
        akka.actor.serialization-bindings { "Fantasy.Actors.Host.IArchiveMessage, Fantasy.Actors.Host" = fantasy-archive }
        akka.actor.serialization-identifiers { "Fantasy.Actors.Host.ArchiveSerializer, Fantasy.Actors.Host" = 4713 }
        """;

    /// <summary>Asks every other node up; the answer of the one that keeps the response, or null when none does (or answers).</summary>
    public static async Task<ArchiveAnswer?> AskAsync(ActorSystem system, ArchiveAsk ask, CancellationToken cancellationToken)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var others = cluster.State.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && !m.Address.Equals(cluster.SelfAddress))
            .Select(m => system.ActorSelection(new RootActorPath(m.Address) / "user" / Name))
            .ToList();
        var asks = others.Select(async peer =>
        {
            try
            {
                return await peer.Ask<ArchiveAnswer>(ask, Timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return ArchiveAnswer.Missing; // a node without gateways, or unreachable now
            }
        }).ToList();
        while (asks.Count > 0)
        {
            var done = await Task.WhenAny(asks).ConfigureAwait(false);
            asks.Remove(done);
            if (await done.ConfigureAwait(false) is { Found: true } found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The response a remote node answered with, to be read here.</summary>
    public static ArchivedResponse ToResponse(string id, ArchiveAnswer answer)
    {
        var context = JsonDocument.Parse(answer.Context).RootElement.EnumerateArray().ToList();
        var json = JsonDocument.Parse(answer.Response).RootElement;
        var store = !(json.TryGetProperty("store", out var s) && s.ValueKind == JsonValueKind.False);
        return new ArchivedResponse(id, context, store) { Json = json };
    }

    /// <summary>A kept response as an answer.</summary>
    public static ArchiveAnswer ToAnswer(ArchivedResponse response, bool done)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var item in response.Context)
            {
                item.WriteTo(w);
            }

            w.WriteEndArray();
        }

        return new ArchiveAnswer(true, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(response.Json).ToArray(), buffer.ToArray(), response.Running, done);
    }
}

/// <summary>One per gateway node in cluster mode: answers other nodes about the responses this node keeps.</summary>
internal sealed class ArchivePeer : ReceiveActor
{
    public ArchivePeer(TenantDirectory directory)
    {
        Receive<ArchiveAsk>(ask =>
        {
            var kept = directory.Find(ask.Tenant)?.Archive.Get(ask.ResponseId);
            if (kept is null)
            {
                Sender.Tell(ArchiveAnswer.Missing);
                return;
            }

            var done = ask.Action switch
            {
                ArchiveAction.Cancel => kept.TryCancel(),
                ArchiveAction.Delete => !kept.Running && directory.Find(ask.Tenant)!.Archive.Remove(ask.ResponseId),
                _ => true,
            };
            Sender.Tell(ArchivePeers.ToAnswer(kept, done));
        });
    }
}

/// <summary>The archive messages as JSON (System.Text.Json), one manifest per type.</summary>
internal sealed class ArchiveSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => 4713;

    public override string Manifest(object o) => o switch
    {
        ArchiveAsk => "ask",
        ArchiveAnswer => "answer",
        _ => throw new ArgumentException($"{o.GetType()} is not an archive message", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        ArchiveAsk ask => JsonSerializer.SerializeToUtf8Bytes(ask),
        ArchiveAnswer answer => JsonSerializer.SerializeToUtf8Bytes(answer),
        _ => throw new ArgumentException($"{obj.GetType()} is not an archive message", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        "ask" => JsonSerializer.Deserialize<ArchiveAsk>(bytes)!,
        "answer" => JsonSerializer.Deserialize<ArchiveAnswer>(bytes)!,
        _ => throw new System.Runtime.Serialization.SerializationException($"unknown archive manifest '{manifest}'"),
    };
}
