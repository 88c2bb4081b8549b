using Akka.Actor;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Sessions;

internal sealed partial class SessionActor
{
    /// <summary>A close: with <see cref="CloseSession.Forget"/>, the session's records are deleted first (after a write in flight).</summary>
    private void Close(CloseSession close)
    {
        if (recovering)
        {
            (afterRecovery ??= []).Add((close, Sender));
            return;
        }

        if (!close.Forget || env.Records is null)
        {
            Sender.Tell(new SessionClosed(close.Key, !IsFresh));
            StopAfterClose();
            return;
        }

        forgetting = (close, Sender);
        if (writing is null)
        {
            ForgetNow();
        }
    }

    private void ForgetNow()
    {
        if (journal is not null)
        {
            Context.Unwatch(journal);
            Context.Stop(journal);
            journal = null;
        }

        var records = env.Records!;
        records.ForgetAsync(key.Tenant, key.Conversation).PipeTo(Self,
            success: existed => new ForgetDone(existed, null),
            failure: e => new ForgetDone(false, $"the conversation's records could not be deleted: {e.GetBaseException().Message}"));
    }

    private void StopAfterClose()
    {
        if (env.Passivation.StartedByAnyMessage)
        {
            Go(Passivating);
            Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance));
        }
        else
        {
            Context.Stop(Self);
        }
    }
}
