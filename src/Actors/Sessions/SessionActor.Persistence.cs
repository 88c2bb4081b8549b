using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Persistence;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

/// <summary>
/// The session's durable side (<c>fantasy.persistence</c>): its <see cref="SessionJournal"/> child reads the
/// conversation when the session starts (turns wait in the queue meanwhile) and writes each completed turn before
/// the turn's terminal — its <c>response.completed</c> and its <see cref="TurnFinished"/> — reaches the caller. A
/// write that fails or takes longer than <c>write-timeout</c> ends the turn <c>Failed(retryable)</c> and undoes it
/// from the transcript (<c>on-failure = refuse</c>), or releases it not durable (<c>in-memory</c>). While the journal
/// is down, new turns are refused at once, except that one session per <c>probe-interval</c> tries it again.
/// </summary>
internal sealed partial class SessionActor
{
    private const string WriteTimerKey = "journal-write";
    private const string RecoveryTimerKey = "journal-recovery";

    private IActorRef? journal;
    private DateTimeOffset recoveryStarted;

    /// <summary>The journal child is reading the conversation (the first time, or as a probe after a failure); turns wait.</summary>
    private bool recovering;
    private bool journalDown;
    private long writeTokens;

    /// <summary>A completed turn waiting for its record; the next turn waits for it too.</summary>
    private PendingWrite? writing;

    /// <summary>Status and close requests that arrived while the session was reading its conversation.</summary>
    private List<(object Message, IActorRef Sender)>? afterRecovery;

    /// <summary>A close that forgets the conversation, waiting for the write in flight.</summary>
    private (CloseSession Close, IActorRef Sender)? forgetting;

    /// <summary>A completed turn being made durable (its record, tagged with its response id).</summary>
    private sealed record PendingWrite(RunningTurn Turn, TurnEnd End, ChainState? Before, long Token, DateTimeOffset Started, bool Recorded);

    private sealed record WriteTimedOut(long Token);

    private sealed record RecoveryTimedOut(IActorRef Journal);

    private sealed record ForgetDone(bool Existed, string? Problem);

    private PersistenceSettings Persistence => env.Settings.Persistence;

    /// <summary>Whether dispatch waits on the journal: it is being read, or a completed turn is being written.</summary>
    private bool JournalBusy => recovering || writing is not null;

    /// <summary>
    /// The session starts: a conversation with records gets its journal child, which reads them before the first turn
    /// goes out. One without (most new sessions, found with one indexed query) starts at once and gets its child at its
    /// first write, with nothing to read — a burst of new conversations does not queue behind the plugin's recoveries.
    /// </summary>
    private void OpenRecords()
    {
        recovering = true;
        recoveryStarted = Now;
        Timers.StartSingleTimer(RecoveryTimerKey, new RecoveryTimedOut(ActorRefs.Nobody), Persistence.RecoveryTimeout);
        env.Records!.HasRecordsAsync(key.Tenant, key.Conversation).PipeTo(Self,
            success: has => new RecordsChecked(has, null),
            failure: e => new RecordsChecked(false, e.GetBaseException().Message));
    }

    private sealed record RecordsChecked(bool Exist, string? Problem);

    /// <param name="recover">Read the records first (the session's start, a probe); false: a child for a conversation with none, its first write waiting on nothing.</param>
    private void StartJournal(bool recover = true)
    {
        journal = Context.ActorOf(SessionJournal.Props(key, Persistence, recover), "journal-" + (++writeTokens));
        Context.Watch(journal);
        if (recover)
        {
            recovering = true;
            recoveryStarted = Now;
            Timers.StartSingleTimer(RecoveryTimerKey, new RecoveryTimedOut(journal), Persistence.RecoveryTimeout);
        }
    }

    /// <summary>The session's journal messages; false for anything else.</summary>
    private bool OnJournal(object message)
    {
        switch (message)
        {
            case RecordsChecked { Problem: { } problem } when recovering && journal is null:
                JournalLost($"the conversation's records could not be looked for: {problem}");
                return true;
            case RecordsChecked { Exist: true } when recovering && journal is null:
                StartJournal();
                return true;
            case RecordsChecked when recovering && journal is null:
                // Nothing recorded: nothing to wait for.
                Timers.Cancel(RecoveryTimerKey);
                recovering = false;
                env.Journal.Worked();
                AfterRecovery();
                return true;
            case RecordsChecked:
                return true;
            case SessionJournal.Recovered recovered when Sender.Equals(journal):
                Timers.Cancel(RecoveryTimerKey);
                recovering = false;
                journalDown = false;
                env.Journal.Worked();
                FantasyMetrics.RecoveryDuration.Record((Now - recoveryStarted).TotalSeconds);
                if (turns == 0 && !chain.HasTranscript)
                {
                    // The session starts from what was recorded (a probe after a failed start counts as the start).
                    chain.Restore(recovered.Transcript);
                    turns = recovered.Turns;
                    if (recovered.Transcript is not null)
                    {
                        log.Info("session {SessionId}: recovered {Turns} turns; the next turn sends the whole conversation ({Items} items) once, then chains",
                            key.SessionId, recovered.Turns, recovered.Transcript.FullInput.Count + recovered.Transcript.Output.Count);
                    }
                }

                AfterRecovery();
                return true;
            case SessionJournal.Written written when writing is { } w && w.Token == written.Token:
                OnWritten(w);
                return true;
            case SessionJournal.Written:
                return true;
            case SessionJournal.JournalFailed failed when Sender.Equals(journal):
                JournalLost(failed.Reason);
                return true;
            case Terminated t when t.ActorRef.Equals(journal):
                JournalLost("the session's journal stopped");
                return true;
            case Terminated:
                return true;
            case WriteTimedOut timedOut when writing is { } w && w.Token == timedOut.Token:
                JournalLost($"the record was not written within {Persistence.WriteTimeout} (fantasy.persistence.write-timeout)");
                return true;
            case RecoveryTimedOut timedOut when recovering && (timedOut.Journal.Equals(journal) || (journal is null && timedOut.Journal.IsNobody())):
                // Slow is not down: many sessions resuming at once (a restart under load) queue behind the plugin's
                // recoveries. This session's turns end; the others are not refused for it.
                JournalLost($"the conversation was not read within {Persistence.RecoveryTimeout} (fantasy.persistence.recovery-timeout)", slowOnly: true);
                return true;
            case WriteTimedOut or RecoveryTimedOut or SessionJournal.Recovered or SessionJournal.JournalFailed:
                return true;
            case ForgetDone done when forgetting is { } f:
                f.Sender.Tell(new SessionClosed(f.Close.Key, done.Existed || turns > 0, done.Problem));
                if (done.Problem is null)
                {
                    log.Info("session {SessionId}: closed and its records deleted", key.SessionId);
                }

                StopAfterClose();
                return true;
            default:
                return false;
        }
    }

    /// <summary>The journal cannot be used now: a write in flight ends as configured, and a read in progress lets the waiting turns go on or be refused.</summary>
    /// <param name="slowOnly">The journal answered too slowly rather than failed: the sessions' shared health stays as it is.</param>
    private void JournalLost(string reason, bool slowOnly = false)
    {
        var wasRecovering = recovering;
        Timers.Cancel(RecoveryTimerKey);
        if (journal is not null)
        {
            Context.Unwatch(journal);
            Context.Stop(journal);
            journal = null;
        }

        recovering = false;
        journalDown = true;
        if (!slowOnly)
        {
            env.Journal.Failed(reason, Now, write: writing is not null);
        }
        if (writing is { } w)
        {
            Timers.Cancel(WriteTimerKey);
            writing = null;
            FantasyMetrics.RecordWrites.Add(1, new KeyValuePair<string, object?>("fantasy.result", "failed"));
            if (Persistence.OnFailure == PersistenceFailureMode.InMemory)
            {
                WarnNotDurable(reason);
                Release(w);
            }
            else
            {
                log.Warning("session {SessionId}: turn {TurnId} completed but its record could not be written ({Reason}); it ends failed and is not part of the conversation", key.SessionId, w.Turn.Id, reason);
                if (w.Recorded)
                {
                    chain.Restore(w.Before);
                    turns--;
                }

                FantasyMetrics.NotDurable.Add(1, new KeyValuePair<string, object?>("fantasy.result", "refused"));
                w.Turn.Finish(TurnEnd.Failed(
                    $"the turn completed but could not be made durable ({reason}); it was not kept: send it again",
                    retryable: true));
                AfterTurn();
            }
        }
        else
        {
            log.Warning("session {SessionId}: the journal is unavailable: {Reason}", key.SessionId, reason);
        }

        if (wasRecovering)
        {
            AfterRecovery();
        }
    }

    private void AfterRecovery()
    {
        if (journalDown && Persistence.OnFailure == PersistenceFailureMode.Refuse)
        {
            foreach (var pending in queue.TakeAll())
            {
                Timers.Cancel(TurnQueue.TimeoutKey(pending.Id));
                RefuseNotDurable(pending);
            }
        }

        if (afterRecovery is { } waiting)
        {
            afterRecovery = null;
            foreach (var (message, sender) in waiting)
            {
                Self.Tell(message, sender);
            }
        }

        TryStartNext();
    }

    /// <summary>
    /// Before a turn is queued: false when the journal is down and this session may not try it now (the turn is
    /// refused, <c>on-failure = refuse</c>). A session that may try starts a new journal child; the turn waits for it.
    /// </summary>
    private bool JournalAdmits(PendingTurn turn)
    {
        switch (JournalAdmission.Decide(env.Durable, Persistence.OnFailure, recovering, journalDown, env.Journal.Available, journal is not null, () => env.Journal.TryProbe(Now)))
        {
            case JournalVerdict.RunAndRestartJournal:
                log.Info("session {SessionId}: trying the journal again", key.SessionId);
                StartJournal();
                return true;
            case JournalVerdict.Refuse:
                RefuseNotDurable(turn);
                return false;
            default:
                return true;
        }
    }

    private void RefuseNotDurable(PendingTurn turn)
    {
        FantasyMetrics.NotDurable.Add(1, new KeyValuePair<string, object?>("fantasy.result", "refused"));
        turn.Finish(TurnEnd.Rejected(
            Rejection.PersistenceUnavailable,
            $"the conversation store is unavailable ({env.Journal.Problem ?? "no answer"}); the turn was not run (fantasy.persistence.on-failure = refuse)"));
    }

    /// <summary>
    /// A turn ended with <paramref name="end"/>. A completed turn of a durable session is written first; its terminal
    /// waits (<see cref="OnWritten"/>). <paramref name="before"/> is the transcript before the turn (restored if the
    /// write fails).
    /// </summary>
    private void Complete(RunningTurn r, TurnEnd end, ChainState? before)
    {
        lastContextTokens = end.Outcome == TurnOutcome.Completed ? end.Result.Usage?.TotalTokens ?? 0 : 0;
        // What is written: the transcript's change (unless the turn is not recorded), tagged with the response id —
        // which tenant and session produced it, so the id can be chained from in any later process.
        var recorded = r.Pending.Submit.Options.Durable && !ReferenceEquals(before, chain.Transcript);
        var owned = end.ResponseId is not null;
        if (!env.Durable || end.Outcome != TurnOutcome.Completed || forgetting is not null || !(recorded || owned))
        {
            ReleaseTerminal(r);
            EndRunning(r, end);
            return;
        }

        if (journal is null && !journalDown)
        {
            // The conversation's first record: its child starts now, with nothing to read (see OpenRecords).
            StartJournal(recover: false);
        }

        if ((journal is null || recovering) && Persistence.OnFailure == PersistenceFailureMode.Refuse)
        {
            // The journal went away while the turn ran: it fails as a write that failed would.
            running = null;
            writing = new PendingWrite(r, end, before, ++writeTokens, Now, recorded);
            JournalLost(env.Journal.Problem ?? "the session's journal is unavailable");
            return;
        }

        if (journal is null || recovering)
        {
            // Down (in-memory mode lets turns run): not durable. One session per probe interval tries the journal again
            // with this transcript, which it then writes whole.
            running = null;
            WarnNotDurable(env.Journal.Problem ?? "the journal is unavailable");
            if (journal is null && env.Journal.TryProbe(Now))
            {
                StartJournal();
                journal!.Tell(new SessionJournal.Write(0, chain.Transcript, end.ResponseId, r.Pending.Submit.Options.Durable));
            }

            ReleaseTerminal(r);
            r.Finish(end);
            AfterTurn();
            return;
        }

        running = null;
        var token = ++writeTokens;
        writing = new PendingWrite(r, end, before, token, Now, recorded);
        journal.Tell(new SessionJournal.Write(token, chain.Transcript, end.ResponseId, recorded));
        Timers.StartSingleTimer(WriteTimerKey, new WriteTimedOut(token), Persistence.WriteTimeout);
    }

    private void OnWritten(PendingWrite w)
    {
        Timers.Cancel(WriteTimerKey);
        writing = null;
        var took = Now - w.Started;
        env.Journal.Wrote(took);
        journalDown = false;
        FantasyMetrics.RecordWrites.Add(1, new KeyValuePair<string, object?>("fantasy.result", "ok"));
        FantasyMetrics.RecordWriteDuration.Record(took.TotalSeconds);
        Release(w);
    }

    private void Release(PendingWrite w)
    {
        ReleaseTerminal(w.Turn);
        w.Turn.Finish(w.End);
        if (forgetting is not null)
        {
            ForgetNow();
            return;
        }

        AfterTurn();
    }

    /// <summary>The held <c>response.completed</c> goes to the caller now.</summary>
    private static void ReleaseTerminal(RunningTurn r)
    {
        if (r.HeldTerminal is { } terminal)
        {
            r.HeldTerminal = null;
            r.Pending.Submit.Out.TryWrite(new TurnUpstreamEvent(r.Pending.Submit.Options.PassThrough ? terminal.AsReceived() : terminal));
        }
    }

    /// <summary>Whether <paramref name="e"/> is the terminal a durable session holds back until the turn is written.</summary>
    private bool HoldsTerminal(RunningTurn r, ServerEvent e) =>
        env.Durable && !r.Pending.Internal && e.Type == EventTypes.Completed && forgetting is null;

    private void WarnNotDurable(string reason)
    {
        FantasyMetrics.NotDurable.Add(1, new KeyValuePair<string, object?>("fantasy.result", "in_memory"));
        if (env.Journal.ShouldWarn(Now))
        {
            log.Warning("session {SessionId}: turns run in memory, not durable, while the journal is unavailable ({Reason}; fantasy.persistence.on-failure = in-memory; this warning repeats once a minute)", key.SessionId, reason);
        }
    }
}
