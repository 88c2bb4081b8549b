using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using PersistenceSettings = Fantasy.Actors.Configuration.PersistenceSettings;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// A session's durable record, as a child of its session: on start it reads the latest snapshot and the turns after
/// it and tells the session what it found (<see cref="Recovered"/>); then it writes each completed turn the session
/// hands it as the change from the previous transcript, tagged with the turn's response id (the plugin writes the tag
/// row in the same transaction: the durable index of which tenant and session produced an id), answers
/// <see cref="Written"/> once the journal has it, and snapshots every <c>snapshot-every</c> turns (recovery then reads
/// the snapshot and the events after it; older snapshots are deleted, the events stay for the index). A failed read or write
/// is reported (<see cref="JournalFailed"/>) and the actor stops; the session decides what its turns meet, and starts
/// a new one when it tries the journal again.
/// </summary>
internal sealed class SessionJournal : UntypedPersistentActor
{
    private readonly string persistenceId;
    private readonly PersistenceSettings settings;
    private readonly RecordSeal seal;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly SessionRecord record = new();

    private IActorRef? forgetting;
    private bool eventsDeleted;
    private bool snapshotsDeleted;

    public SessionJournal(SessionKey key, PersistenceSettings settings, bool recover = true)
    {
        Recovery = recover ? Recovery.Default : Recovery.None;
        persistenceId = PersistenceIdOf(key);
        this.settings = settings;
        seal = new RecordSeal(settings.EncryptionKey, key.Tenant);
        JournalPluginId = PersistenceSettings.JournalPluginId;
        SnapshotPluginId = PersistenceSettings.SnapshotPluginId;
    }

    /// <param name="recover">False: the session found no records; nothing is read (a new conversation's first write).</param>
    public static Props Props(SessionKey key, PersistenceSettings settings, bool recover = true) =>
        Akka.Actor.Props.Create(() => new SessionJournal(key, settings, recover));

    public override Recovery Recovery { get; }

    /// <summary>The persistence id of a session: its tenant and conversation (both limited to <c>[A-Za-z0-9_.:-]</c>).</summary>
    public static string PersistenceIdOf(SessionKey key) => RecordStore.SessionPersistenceId(key.Tenant, key.Conversation);

    public override string PersistenceId => persistenceId;

    // ---- protocol ----

    /// <summary>To the session: the record as read (null transcript: none), and the turns it counts.</summary>
    public sealed record Recovered(ChainState? Transcript, int Turns);

    /// <summary>
    /// From the session: record a completed turn whose transcript is now <paramref name="Transcript"/>, tagged with its
    /// <paramref name="ResponseId"/>; with <paramref name="Record"/> false (a turn not recorded: a one-off session), only
    /// the response id's owner is written.
    /// </summary>
    public sealed record Write(long Token, ChainState? Transcript, string? ResponseId = null, bool Record = true);

    /// <summary>To the session: the turn of <paramref name="Token"/> is written.</summary>
    public sealed record Written(long Token);

    /// <summary>To the session: the journal could not be read or written; this actor stops.</summary>
    public sealed record JournalFailed(string Reason, bool DuringRecovery);

    /// <summary>From the session: delete every event and snapshot of the session; answered with <see cref="Forgotten"/>.</summary>
    public sealed class Forget
    {
        public static readonly Forget Instance = new();
    }

    public sealed record Forgotten(bool Deleted, string? Problem);

    // ---- recovery ----
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: RecordedSnapshot snapshot }:
                record.Restore(RecordSnapshot.FromJson(seal.Open(snapshot.Bytes, persistenceId)));
                break;
            case RecordedTurn turn:
                record.Apply(TranscriptChange.FromJson(seal.Open(turn.Bytes, persistenceId)));
                break;
            case RecordedOwner:
                break;
            case RecoveryCompleted:
                Context.Parent.Tell(new Recovered(record.Transcript, record.Turns));
                break;
        }
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        log.Warning("session record {PersistenceId} could not be read: {Reason}", persistenceId, reason.Message);
        Context.Parent.Tell(new JournalFailed(Describe(reason), DuringRecovery: true));
        base.OnRecoveryFailure(reason, message);
    }

    // ---- commands ----
    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case Write write:
                Record(write);
                break;
            case Forget:
                forgetting = Sender;
                DeleteMessages(long.MaxValue);
                DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue));
                break;
            case SaveSnapshotSuccess saved when forgetting is null:
                // The snapshot holds the transcript up to its sequence number: older snapshots go. The events stay: their
                // tags are the durable index of the session's response ids (retention and forget delete them).
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure failed:
                log.Warning("session record {PersistenceId}: a snapshot could not be saved ({Reason}); the events stay", persistenceId, failed.Cause.Message);
                break;
            case DeleteMessagesSuccess when forgetting is not null:
                eventsDeleted = true;
                AfterForget();
                break;
            case DeleteSnapshotsSuccess when forgetting is not null:
                snapshotsDeleted = true;
                AfterForget();
                break;
            case DeleteMessagesFailure failed when forgetting is not null:
                forgetting.Tell(new Forgotten(false, Describe(failed.Cause)));
                forgetting = null;
                break;
            case DeleteSnapshotsFailure failed when forgetting is not null:
                forgetting.Tell(new Forgotten(false, Describe(failed.Cause)));
                forgetting = null;
                break;
            case DeleteMessagesSuccess or DeleteSnapshotsSuccess or DeleteMessagesFailure or DeleteSnapshotsFailure or DeleteSnapshotSuccess:
                // Compaction after a snapshot: nothing depends on it.
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Record(Write write)
    {
        var token = write.Token;
        var session = Sender;
        var change = write.Record ? record.Diff(write.Transcript) : null;
        object payload = change is null ? RecordedOwner.Instance : new RecordedTurn(seal.Close(change.ToJson(), persistenceId));
        if (write.ResponseId is { } id)
        {
            payload = new Tagged(payload, [ResponseTag(id)]);
        }

        Persist(payload, _ =>
        {
            if (change is not null)
            {
                record.Apply(change);
            }

            session.Tell(new Written(token));
            if (record.SinceSnapshot >= settings.SnapshotEvery)
            {
                SaveSnapshot(new RecordedSnapshot(seal.Close(record.Snapshot().ToJson(), persistenceId)));
            }
        });
    }

    /// <summary>
    /// The tag of a response id in the journal's tag table (64 characters at most): <c>r:</c> and the id, or for a longer
    /// id <c>r#</c> and its SHA-256 (base64url).
    /// </summary>
    public static string ResponseTag(string responseId)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return responseId.Length <= 62
            ? "r:" + responseId
            : "r#" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(responseId)))
                .TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private void AfterForget()
    {
        if (eventsDeleted && snapshotsDeleted)
        {
            forgetting!.Tell(new Forgotten(true, null));
            forgetting = null;
        }
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        log.Warning("session record {PersistenceId}: turn {SequenceNr} could not be written: {Reason}", persistenceId, sequenceNr, cause.Message);
        Context.Parent.Tell(new JournalFailed(Describe(cause), DuringRecovery: false));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        log.Error(cause, "session record {PersistenceId}: the journal rejected turn {SequenceNr}", persistenceId, sequenceNr);
        Context.Parent.Tell(new JournalFailed(Describe(cause), DuringRecovery: false));
        Context.Stop(Self);
    }

    private static string Describe(Exception e) => e.InnerException is { } inner && e.Message.Contains("see inner", StringComparison.OrdinalIgnoreCase)
        ? inner.Message
        : e.Message;
}
