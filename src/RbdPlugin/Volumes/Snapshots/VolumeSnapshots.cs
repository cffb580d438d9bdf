using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Snapshots of volumes on Ceph, shared by the runbook CLI and the daemon: list, remove, roll back, and take one of
/// a volume that no host has mounted. Whoever has a volume mounted must freeze it around a snapshot; that is the
/// owning daemon's job (<see cref="FrozenSnapshot"/>, through the admin socket), so here a mounted volume is refused
/// with the host to ask.
/// </summary>
internal sealed class VolumeSnapshots(
    ICephSnapshots snapshots,
    ICephImages images,
    VolumeCatalog catalog,
    VolumeResizer resizer,
    LeaseInspector leases)
{
    /// <summary>The volume's record; NotFound when it or its image is gone.</summary>
    public async Task<VolumeRecord> RequireAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        return (await catalog.FindAsync(name, ct))?.Record
            ?? throw new VolumeException(VolumeErrorKind.NotFound, $"no such volume: {name}; `rbd-plugin volume ls` lists them");
    }

    /// <summary>The snapshot, or null.</summary>
    public async Task<SnapshotInfo?> FindAsync(VolumeRecord record, string snapshot, CancellationToken ct) =>
        (await snapshots.ListSnapshotsAsync(record.Image, ct)).FirstOrDefault(s => s.Name == snapshot);

    /// <summary>The snapshot of a volume, or NotFound listing the ones it has.</summary>
    public async Task<SnapshotInfo> RequireSnapshotAsync(VolumeRecord volume, string snapshot, CancellationToken ct)
    {
        IReadOnlyList<SnapshotInfo> found;
        try
        {
            found = await snapshots.ListSnapshotsAsync(volume.Image, ct);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            throw new VolumeException(VolumeErrorKind.NotFound, $"volume {volume.Name}: its image {volume.Image} is gone", e);
        }

        return found.FirstOrDefault(s => s.Name == snapshot) ?? throw new VolumeException(VolumeErrorKind.NotFound,
            $"volume {volume.Name} has no snapshot {snapshot}; it has: {(found.Count == 0 ? "none" : string.Join(", ", found.Select(s => s.Name)))} " +
            $"(`rbd-plugin snapshot ls {volume.Name}`)");
    }

    /// <summary>Where the volume is in use: its lease (held/expired/none, owner) and the clients that have the image open.</summary>
    public async Task<(LeaseView Lease, IReadOnlyList<Watcher> Watchers)> UsageAsync(VolumeRecord record, CancellationToken ct) =>
        (await leases.InspectAsync(record.Name, ct), await images.ListWatchersOrNoneAsync(record.Image, ct));

    /// <summary>Snapshot of a volume nobody has mounted (checked first: a mounted one needs its host to freeze it).</summary>
    public async Task<SnapshotTaken> CreateUnmountedAsync(VolumeRecord record, string snapshot, CancellationToken ct)
    {
        var (lease, watchers) = await UsageAsync(record, ct);
        EnsureUnused(record.Name, lease, watchers, $"take a consistent snapshot of it there: run `rbd-plugin snapshot create {record.Name} {snapshot}` on that host");
        return await CreateAsync(record, snapshot, frozen: false, host: null, freezeMs: null, ct);
    }

    /// <summary>Takes the snapshot (the caller froze the filesystem, or nobody has it mounted).</summary>
    public async Task<SnapshotTaken> CreateAsync(VolumeRecord record, string snapshot, bool frozen, string? host, long? freezeMs, CancellationToken ct)
    {
        await snapshots.CreateSnapshotAsync(record.Image, snapshot, ct);
        var taken = await FindAsync(record, snapshot, ct);
        return new SnapshotTaken(record.Name, snapshot, true, frozen, host, freezeMs, taken?.CreatedAt ?? DateTimeOffset.UtcNow);
    }

    /// <summary>An existing snapshot reported as "already there" (idempotent create).</summary>
    public static SnapshotTaken AlreadyThere(VolumeRecord record, SnapshotInfo snapshot) =>
        new(record.Name, snapshot.Name, false, false, null, null, snapshot.CreatedAt);

    public async Task<IReadOnlyList<SnapshotListItem>> ListAsync(string name, CancellationToken ct)
    {
        var record = await RequireAsync(name, ct);
        return (await snapshots.ListSnapshotsAsync(record.Image, ct))
            .Select(s => new SnapshotListItem(s.Name, s.Id, s.SizeBytes, ByteSize.Format(s.SizeBytes), s.CreatedAt)).ToList();
    }

    /// <summary>Idempotent: a snapshot already gone is <c>removed: false</c>. One with clones waits in Ceph's snapshot trash for its last clone.</summary>
    public async Task<SnapshotRemoved> RemoveAsync(string name, string snapshot, CancellationToken ct)
    {
        SnapshotName.Validate(snapshot);
        var record = await RequireAsync(name, ct);
        return new SnapshotRemoved(name, snapshot, await snapshots.RemoveSnapshotAsync(record.Image, snapshot, ct));
    }

    /// <summary>
    /// Writes the snapshot back over the volume. Refused while any host has it mounted (its filesystem would be
    /// replaced under it) or the image is open anywhere.
    /// </summary>
    public async Task<SnapshotRolledBack> RollbackAsync(string name, string snapshot, CancellationToken ct)
    {
        SnapshotName.Validate(snapshot);
        var record = await RequireAsync(name, ct);
        var snap = await RequireSnapshotAsync(record, snapshot, ct);
        var (lease, watchers) = await UsageAsync(record, ct);
        EnsureUnused(name, lease, watchers, "stop the containers using it there, then roll back");
        await snapshots.RollbackSnapshotAsync(record.Image, snapshot, ct);
        await resizer.RecordSizeAsync(record, snap.SizeBytes, ct);
        return new SnapshotRolledBack(name, snapshot, snap.SizeBytes);
    }

    /// <summary>InUse, naming the host or the clients, unless nobody has the volume mounted or open.</summary>
    public static void EnsureUnused(string name, LeaseView lease, IReadOnlyList<Watcher> watchers, string whatToDo)
    {
        if (lease.State == LeaseState.Held)
        {
            throw new VolumeException(VolumeErrorKind.InUse, $"volume {name} is mounted on host {lease.Host}; {whatToDo}");
        }

        if (lease.State == LeaseState.Expired)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name} was mounted on host {lease.Host}, which did not release it (its lease lapsed: crashed?); " +
                $"fence that host with `rbd-plugin volume takeover {name}` first");
        }

        if (watchers.Count > 0)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name} is open by {string.Join(", ", watchers.Select(w => $"client.{w.Id} at {w.Address}"))} (mapped outside the plugin, or a host releasing it); " +
                "unmap it there first and retry");
        }
    }
}
