namespace Fantasy.Actors.Limits;

/// <summary>
/// Waiting items of many tenants, taken by deficit round robin: each tenant with waiting items gets its weight in
/// credit per round and gives up one credit per item taken, so tenants with weights 1:1:2 that all wait are served
/// 1:1:2, and a tenant with one waiting item is reached within one round whatever the others have queued. FIFO within
/// a tenant (a resent item may go to its tenant's front). Not thread-safe: one actor owns it.
/// </summary>
internal sealed class FairQueue<T>
{
    private readonly Dictionary<string, Lane> lanes = new(StringComparer.Ordinal);
    private readonly List<Lane> active = [];
    private int cursor;

    /// <summary>Items waiting, all tenants.</summary>
    public int Count { get; private set; }

    /// <summary>Items waiting per tenant (tenants with none are left out).</summary>
    public IEnumerable<(string Tenant, int Waiting)> Waiting => active.Select(l => (l.Tenant, l.Items.Count));

    /// <summary>Adds <paramref name="item"/> at the back of <paramref name="tenant"/>'s line (its front when <paramref name="front"/>).</summary>
    public void Enqueue(string tenant, double weight, T item, bool front = false)
    {
        if (weight <= 0 || !double.IsFinite(weight))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "a weight is a positive number");
        }

        if (!lanes.TryGetValue(tenant, out var lane))
        {
            lanes[tenant] = lane = new Lane(tenant);
        }

        lane.Weight = weight;
        if (front)
        {
            lane.Items.AddFirst(item);
        }
        else
        {
            lane.Items.AddLast(item);
        }

        Count++;
        if (lane.Items.Count == 1)
        {
            active.Add(lane);
            if (active.Count == 1)
            {
                // The only tenant waiting: its round starts now.
                cursor = 0;
                lane.Deficit = lane.Weight;
            }
        }
    }

    /// <summary>The item the next <see cref="Take"/> gives, and its tenant; false when nothing waits.</summary>
    public bool TryPeek(out string tenant, out T item)
    {
        if (Current() is not { } lane)
        {
            tenant = string.Empty;
            item = default!;
            return false;
        }

        tenant = lane.Tenant;
        item = lane.Items.First!.Value;
        return true;
    }

    /// <summary>Takes the item <see cref="TryPeek"/> shows.</summary>
    public T Take()
    {
        var lane = Current() ?? throw new InvalidOperationException("nothing waits");
        var item = lane.Items.First!.Value;
        lane.Items.RemoveFirst();
        lane.Deficit -= 1;
        Count--;
        if (lane.Items.Count == 0)
        {
            Retire(lane);
        }

        return item;
    }

    /// <summary>Removes the first item that matches; false when none does.</summary>
    public bool Remove(Func<T, bool> match)
    {
        foreach (var lane in active)
        {
            for (var node = lane.Items.First; node is not null; node = node.Next)
            {
                if (!match(node.Value))
                {
                    continue;
                }

                lane.Items.Remove(node);
                Count--;
                if (lane.Items.Count == 0)
                {
                    Retire(lane);
                }

                return true;
            }
        }

        return false;
    }

    /// <summary>The lane whose turn it is: the cursor's while it has credit, else the next one, given its quantum.</summary>
    private Lane? Current()
    {
        if (active.Count == 0)
        {
            return null;
        }

        while (active[cursor].Deficit < 1)
        {
            cursor = (cursor + 1) % active.Count;
            active[cursor].Deficit += active[cursor].Weight;
        }

        return active[cursor];
    }

    /// <summary>A lane with nothing waiting leaves the round and keeps no credit; the next lane's round starts if it was the current one.</summary>
    private void Retire(Lane lane)
    {
        var index = active.IndexOf(lane);
        lane.Deficit = 0;
        active.RemoveAt(index);
        if (active.Count == 0)
        {
            cursor = 0;
            return;
        }

        if (index < cursor)
        {
            cursor--;
        }
        else if (index == cursor)
        {
            cursor %= active.Count;
            active[cursor].Deficit += active[cursor].Weight;
        }
    }

    private sealed class Lane(string tenant)
    {
        public string Tenant { get; } = tenant;
        public LinkedList<T> Items { get; } = new();
        public double Weight { get; set; } = 1;
        public double Deficit { get; set; }
    }
}
