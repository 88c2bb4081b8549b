using Fantasy.Actors.Limits;

namespace Fantasy.Actors.Tests.Limits;

/// <summary>Deficit round robin over tenants: shares by weight, FIFO within a tenant, a lone turn never starved.</summary>
public sealed class FairQueueSpecs
{
    private static Dictionary<string, int> Take(FairQueue<string> queue, int n)
    {
        var taken = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            Assert.True(queue.TryPeek(out var tenant, out var peeked));
            var item = queue.Take();
            Assert.Equal(peeked, item);
            Assert.StartsWith(tenant + "-", item, StringComparison.Ordinal);
            taken[tenant] = taken.GetValueOrDefault(tenant) + 1;
        }

        return taken;
    }

    [Fact]
    public void Three_tenants_with_a_backlog_and_weights_1_1_2_are_served_1_1_2()
    {
        var queue = new FairQueue<string>();
        foreach (var (tenant, weight) in new[] { ("a", 1.0), ("b", 1.0), ("c", 2.0) })
        {
            for (var i = 0; i < 1000; i++)
            {
                queue.Enqueue(tenant, weight, $"{tenant}-{i}");
            }
        }

        var taken = Take(queue, 800);
        Assert.Equal(200, taken["a"]);
        Assert.Equal(200, taken["b"]);
        Assert.Equal(400, taken["c"]);
        Assert.Equal(2200, queue.Count);
    }

    [Fact]
    public void Within_a_tenant_items_go_in_order_and_a_resent_one_goes_first()
    {
        var queue = new FairQueue<string>();
        queue.Enqueue("a", 1, "a-1");
        queue.Enqueue("a", 1, "a-2");
        queue.Enqueue("a", 1, "a-0", front: true);
        Assert.Equal(["a-0", "a-1", "a-2"], [queue.Take(), queue.Take(), queue.Take()]);
        Assert.False(queue.TryPeek(out _, out _));
    }

    [Fact]
    public void A_tenant_with_one_waiting_item_is_served_within_one_round_whatever_the_flood()
    {
        var queue = new FairQueue<string>();
        for (var i = 0; i < 10_000; i++)
        {
            queue.Enqueue("flood", 1, $"flood-{i}");
        }

        Take(queue, 3);
        queue.Enqueue("quiet", 1, "quiet-0");
        var order = Enumerable.Range(0, 3).Select(_ => queue.Take()).ToList();
        Assert.Contains("quiet-0", order.Take(2));
    }

    [Fact]
    public void Fractional_weights_and_tenants_that_come_and_go_keep_their_shares()
    {
        var queue = new FairQueue<string>();
        for (var i = 0; i < 300; i++)
        {
            queue.Enqueue("half", 0.5, $"half-{i}");
            queue.Enqueue("one", 1, $"one-{i}");
        }

        var taken = Take(queue, 300);
        Assert.InRange(taken["one"], 199, 201);
        Assert.InRange(taken["half"], 99, 101);

        // A removed item is gone, and its tenant leaves the round when it empties.
        Assert.True(queue.Remove(x => x == "one-299"));
        Assert.False(queue.Remove(x => x == "one-299"));
        var rest = Take(queue, queue.Count);
        Assert.Equal(300 - taken["half"], rest["half"]);
        Assert.Equal(299 - taken["one"], rest["one"]);
    }
}
