namespace RbdPlugin.Volumes;

/// <summary>What <see cref="LeaseEvents.Changed"/> reports, for the metrics: the moments an operator alerts on.</summary>
internal enum LeaseEvent
{
    /// <summary>A client of a previous owner (or a watcher of its image) was blocklisted; raised once per client.</summary>
    Fenced,

    /// <summary>A lease that lapsed without a release was taken over from another host.</summary>
    TookOver,

    /// <summary>This daemon lost a lease it held (broken, taken, or its client blocklisted).</summary>
    Lost,
}

/// <summary>The lease moments the metrics count, raised by whichever lease type saw them (after its log line).</summary>
internal sealed class LeaseEvents
{
    public event Action<LeaseEvent>? Changed;

    public void Raise(LeaseEvent happened) => Changed?.Invoke(happened);
}
