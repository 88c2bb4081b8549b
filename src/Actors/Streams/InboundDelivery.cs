using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Fantasy.Actors.Streams;

/// <summary>
/// The actor end of an inbound stream (a WebSocket's or an SSE body's): the acknowledging sink that delivers
/// <see cref="InboundBatch"/>es to the actor, and the buffer the actor works through one element at a time.
/// The stream is acknowledged — and so read further — only once every element of the last batch has been
/// taken, so a consumer that stops taking stops the reading (back-pressure).
/// </summary>
internal sealed class InboundDelivery
{
    private InboundBatch? batch;
    private int next;
    private IActorRef? stream;
    private bool draining;

    /// <summary>The stream started (its first message to the actor).</summary>
    public sealed record Init;

    /// <summary>The stream ended after its last batch was taken.</summary>
    public sealed record Completed;

    /// <summary>The stream failed (cancelled, aborted); a read or parse failure comes as an <see cref="InboundFault"/> element instead.</summary>
    public sealed record Failed(Exception Cause);

    private sealed record Ack
    {
        public static readonly Ack Instance = new();
    }

    /// <summary>The sink delivering batches to <paramref name="actor"/>: one batch at a time, each acknowledged.</summary>
    public static Sink<InboundBatch, NotUsed> Sink(IActorRef actor) =>
        Akka.Streams.Dsl.Sink.ActorRefWithAck<InboundBatch>(actor, new Init(), Ack.Instance, new Completed(), static ex => new Failed(ex))
            .WithAttributes(Attributes.CreateInputBuffer(1, 1));

    /// <summary>Handles <see cref="Init"/> and <see cref="InboundBatch"/>; false for any other message.</summary>
    /// <param name="message">The actor's message.</param>
    /// <param name="sender">Its sender (the stream's sink actor).</param>
    /// <param name="canTake">Whether the actor takes the next element now (its consumer window, its state).</param>
    /// <param name="take">Handles one element.</param>
    public bool Handle(object message, IActorRef sender, Func<bool> canTake, Action<object> take)
    {
        switch (message)
        {
            case Init:
                stream = sender;
                sender.Tell(Ack.Instance);
                return true;
            case InboundBatch arrived:
                // The sink sends the next batch only after this one was acknowledged, so there is never more than one.
                batch = arrived;
                next = 0;
                Drain(canTake, take);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Hands the batch's elements on, in order, while <paramref name="canTake"/> allows; once all are taken, hands the
    /// batch back for reuse and acknowledges it.
    /// </summary>
    public void Drain(Func<bool> canTake, Action<object> take)
    {
        if (draining || batch is null)
        {
            return;
        }

        draining = true;
        var current = batch;
        try
        {
            var elements = current.Elements;
            while (ReferenceEquals(batch, current) && next < elements.Count && canTake())
            {
                take(elements[next++]);
            }
        }
        finally
        {
            draining = false;
        }

        if (ReferenceEquals(batch, current) && next >= current.Elements.Count && canTake())
        {
            batch = null;
            current.Release();
            stream?.Tell(Ack.Instance);
        }
    }

    /// <summary>Forgets the elements not yet taken (the stream is being torn down).</summary>
    public void Clear()
    {
        batch = null;
        next = 0;
    }
}
