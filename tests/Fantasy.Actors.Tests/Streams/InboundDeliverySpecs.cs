using Fantasy.Actors.Streams;
using Xunit.Abstractions;

namespace Fantasy.Actors.Tests.Streams;

/// <summary>The actor end of an inbound stream on its own: a probe plays the stream's sink.</summary>
public sealed class InboundDeliverySpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Akka.Configuration.Config.Empty, "inbound-delivery-specs", output)
{
    private static InboundBatch Batch(params object[] elements)
    {
        var batch = InboundBatch.Start(null, elements[0]);
        foreach (var e in elements.Skip(1))
        {
            batch.Add(e);
        }

        return batch;
    }

    [Fact]
    public async Task Init_is_acknowledged_and_a_batch_is_taken_in_order_then_acknowledged()
    {
        var delivery = new InboundDelivery();
        var sink = CreateTestProbe();
        var taken = new List<object>();

        Assert.True(delivery.Handle(new InboundDelivery.Init(), sink.Ref, () => true, taken.Add));
        var ack = await sink.ExpectMsgAsync<object>();

        var batch = Batch("a", "b", "c");
        Assert.True(delivery.Handle(batch, sink.Ref, () => true, taken.Add));
        Assert.Equal(["a", "b", "c"], taken);
        Assert.Equal(ack, await sink.ExpectMsgAsync<object>()); // the same acknowledgement: read the next batch
        Assert.Empty(batch.Elements); // handed back for reuse
    }

    [Fact]
    public async Task A_consumer_that_cannot_take_holds_the_batch_and_the_acknowledgement_until_it_can()
    {
        var delivery = new InboundDelivery();
        var sink = CreateTestProbe();
        var taken = new List<object>();
        var room = 1;
        bool CanTake() => taken.Count < room;

        delivery.Handle(new InboundDelivery.Init(), sink.Ref, CanTake, taken.Add);
        await sink.ExpectMsgAsync<object>();
        delivery.Handle(Batch("a", "b", "c"), sink.Ref, CanTake, taken.Add);
        Assert.Equal(["a"], taken);
        await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // not acknowledged: the stream is not read further

        room = 2;
        delivery.Drain(CanTake, taken.Add);
        Assert.Equal(["a", "b"], taken);
        await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));

        room = 10;
        delivery.Drain(CanTake, taken.Add);
        Assert.Equal(["a", "b", "c"], taken);
        await sink.ExpectMsgAsync<object>();
    }

    [Fact]
    public async Task Draining_from_inside_a_take_does_not_hand_an_element_on_twice()
    {
        var delivery = new InboundDelivery();
        var sink = CreateTestProbe();
        var taken = new List<object>();
        void Take(object e)
        {
            taken.Add(e);
            delivery.Drain(() => true, Take); // an actor that drains again while handling an element
        }

        delivery.Handle(new InboundDelivery.Init(), sink.Ref, () => true, Take);
        await sink.ExpectMsgAsync<object>();
        delivery.Handle(Batch(1, 2, 3), sink.Ref, () => true, Take);

        Assert.Equal([1, 2, 3], taken);
        await sink.ExpectMsgAsync<object>();
        await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // acknowledged once
    }

    [Fact]
    public async Task Cleared_elements_are_never_handed_on_nor_acknowledged_and_other_messages_are_not_its_own()
    {
        var delivery = new InboundDelivery();
        var sink = CreateTestProbe();
        var taken = new List<object>();
        Assert.False(delivery.Handle("something else", sink.Ref, () => true, taken.Add));

        delivery.Handle(new InboundDelivery.Init(), sink.Ref, () => true, taken.Add);
        await sink.ExpectMsgAsync<object>();
        delivery.Handle(Batch("a", "b"), sink.Ref, () => taken.Count < 1, taken.Add);
        delivery.Clear();
        delivery.Drain(() => true, taken.Add);

        Assert.Equal(["a"], taken);
        await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }
}
