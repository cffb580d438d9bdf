namespace RbdPlugin.Volumes;

/// <summary>What Status, the CLI and error messages show about a volume's lease.</summary>
internal sealed class LeaseInspector(LeaseObjects objects)
{
    /// <summary>The lease as the cluster sees it now.</summary>
    public async Task<LeaseView> InspectAsync(string name, CancellationToken ct)
    {
        var holdersTask = objects.ListHoldersAsync(name, ct);
        var record = await objects.ReadRecordAsync(name, ct);
        var holder = await holdersTask is { Count: > 0 } found ? found[0] : null;
        if (holder is not null)
        {
            var own = record?.Cookie == holder.Cookie ? record : null;
            return new LeaseView(LeaseState.Held, LeaseIdentity.HostOf(holder.Cookie), own?.Since, own?.Mountpoint);
        }

        return record is null ? LeaseView.None : new LeaseView(LeaseState.Expired, record.Host, record.Since);
    }
}
