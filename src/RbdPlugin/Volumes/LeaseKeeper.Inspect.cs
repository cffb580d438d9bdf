namespace RbdPlugin.Volumes;

// What Status, the CLI and error messages show about a lease.
internal sealed partial class LeaseKeeper
{
    /// <summary>The lease as the cluster sees it now, for Status and error messages.</summary>
    public async Task<LeaseView> InspectAsync(string name, CancellationToken ct)
    {
        var holdersTask = ListHoldersAsync(name, ct);
        var record = await ReadRecordAsync(name, ct);
        var holder = await holdersTask is { Count: > 0 } found ? found[0] : null;
        if (holder is not null)
        {
            var own = record?.Cookie == holder.Cookie ? record : null;
            return new LeaseView("held", HostOf(holder.Cookie), own?.Since, own?.Mountpoint);
        }

        return record is null ? LeaseView.None : new LeaseView("expired", record.Host, record.Since);
    }
}
