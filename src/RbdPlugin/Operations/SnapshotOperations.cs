using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>
/// What <c>snapshot create|ls|rm|rollback</c> do. A snapshot of a volume mounted on this host is asked of this
/// host's daemon, which freezes the filesystem around it; one mounted on another host is refused with the owner's
/// name; an unmounted one is taken here.
/// </summary>
internal sealed class SnapshotOperations(VolumeSnapshots snapshots, LocalDaemon daemon, VolumeSettings settings)
{
    /// <summary>Idempotent: an existing snapshot is reported with <c>created: false</c>.</summary>
    public Task<SnapshotTaken> CreateAsync(string name, string snapshot, CancellationToken ct) => CephErrors.Guard($"snapshot {name}@{snapshot}", async () =>
    {
        SnapshotName.Validate(snapshot);
        var record = await snapshots.RequireAsync(name, ct);
        if (await snapshots.FindAsync(record, snapshot, ct) is { } existing)
        {
            return VolumeSnapshots.AlreadyThere(record, existing);
        }

        var (lease, _) = await snapshots.UsageAsync(record, ct);
        return lease.IsHeld && lease.Host == settings.HostId
            ? await daemon.SnapshotAsync(name, snapshot, ct)
            : await snapshots.CreateUnmountedAsync(record, snapshot, ct);
    });

    public Task<IReadOnlyList<SnapshotListItem>> ListAsync(string name, CancellationToken ct) =>
        CephErrors.Guard($"list snapshots of {name}", () => snapshots.ListAsync(name, ct));

    public Task<SnapshotRemoved> RemoveAsync(string name, string snapshot, CancellationToken ct) =>
        CephErrors.Guard($"remove snapshot {name}@{snapshot}", () => snapshots.RemoveAsync(name, snapshot, ct));

    public Task<SnapshotRolledBack> RollbackAsync(string name, string snapshot, CancellationToken ct) =>
        CephErrors.Guard($"roll back {name} to {snapshot}", () => snapshots.RollbackAsync(name, snapshot, ct));
}
