using System.Diagnostics;
using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

// What only the daemon that has a volume mounted can do, asked for by the runbook CLI over the admin socket:
// freeze the filesystem around a snapshot, and grow the filesystem after the image grew.
internal sealed partial class VolumeDriver
{
    /// <summary>How long `fsfreeze --freeze` may take (it flushes dirty data first; writers already wait meanwhile).</summary>
    internal static TimeSpan FreezeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the snapshot may keep the filesystem frozen: applications stall on every write until the thaw.</summary>
    internal static TimeSpan FrozenLimit { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>At mount, a device this much larger than its filesystem is grown into (smaller gaps are what mkfs leaves unused).</summary>
    internal const ulong GrowAtMountGap = 16UL << 20;

    private VolumeSnapshots Snapshots => new(ceph, catalog, _store, leases);

    /// <summary>
    /// A filesystem-consistent snapshot: with the volume mounted here, fsfreeze, snapshot, and always thaw — also
    /// when the snapshot fails or takes longer than <see cref="FrozenLimit"/> (then the late snapshot is removed
    /// again, since it may not be consistent, and the request fails). Not mounted here: as for an unmounted volume.
    /// Idempotent: an existing snapshot of that name is reported with <c>created: false</c>.
    /// </summary>
    public async Task<SnapshotTaken> SnapshotAsync(string name, string snapshot, CancellationToken ct)
    {
        SnapshotName.Validate(snapshot);
        using var _ = await _locks.AcquireAsync(name, ct);
        var snapshots = Snapshots;
        return await CephErrors.Guard($"snapshot {name}@{snapshot}", async () =>
        {
            var record = await snapshots.RequireAsync(name, ct);
            if (await snapshots.FindAsync(record, snapshot, ct) is { } existing)
            {
                return VolumeSnapshots.AlreadyThere(record, existing);
            }

            if (journal.Get(name) is not { } entry)
            {
                return await snapshots.CreateUnmountedAsync(record, snapshot, ct);
            }

            return await HostErrors.Guard($"snapshot of mounted volume {name}", () => FrozenSnapshotAsync(snapshots, record, entry, snapshot, ct));
        });
    }

    private async Task<SnapshotTaken> FrozenSnapshotAsync(VolumeSnapshots snapshots, VolumeRecord record, JournalEntry entry, string snapshot, CancellationToken ct)
    {
        var frozenFor = Stopwatch.StartNew();
        Task<SnapshotTaken>? taking = null;
        try
        {
            await filesystem.FreezeAsync(entry.Mountpoint, FreezeTimeout, ct);
            frozenFor.Restart();
            taking = snapshots.CreateAsync(record, snapshot, frozen: true, settings.HostId, null, CancellationToken.None);
            await taking.WaitAsync(FrozenLimit, CancellationToken.None); // bounded; the thaw must follow whatever the caller does
        }
        catch (TimeoutException) when (taking is not null)
        {
            // Fall through to the thaw; the snapshot is dealt with after it.
        }
        finally
        {
            // Never leave the filesystem frozen: every writer on it would hang.
            await filesystem.ThawAsync(entry.Mountpoint, CancellationToken.None);
        }

        var held = (long)frozenFor.Elapsed.TotalMilliseconds;
        if (!taking.IsCompleted)
        {
            // The snapshot outlived the freeze: once it lands it may hold writes made after the thaw, so it goes.
            try
            {
                await taking;
                await ceph.RemoveSnapshotAsync(record.Image, snapshot, CancellationToken.None);
            }
            catch (CephException)
            {
                // It failed anyway: nothing to remove.
            }

            throw new VolumeException(VolumeErrorKind.Unavailable,
                $"snapshot {record.Name}@{snapshot} took longer than {FrozenLimit.TotalSeconds:0} s while the filesystem was frozen; the filesystem was thawed and no snapshot was kept. Check `ceph -s` and retry");
        }

        LogFrozenSnapshot(record.Name, snapshot, entry.Mountpoint, held);
        return (await taking) with { FreezeMs = held };
    }

    /// <summary>
    /// Grows the mounted filesystem to its (already grown) image: the mapper shows the new size, then resize2fs or
    /// xfs_growfs online. Not mounted here: nothing to do; the next Mount grows it.
    /// </summary>
    public async Task<FilesystemGrowth> GrowAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        using var _ = await _locks.AcquireAsync(name, ct);
        if (journal.Get(name) is not { } entry)
        {
            return new FilesystemGrowth(name, false, null, null);
        }

        var (before, after) = await HostErrors.Guard<(ulong Before, ulong After)>($"growing the filesystem of volume {name}", async () =>
        {
            await mappers.Get(entry.Mapper).RefreshSizeAsync(new MappedDevice(entry.Image, entry.Device, entry.Mapper, entry.MapperDetail), ct);
            return await filesystem.GrowToDeviceAsync(entry.Device, entry.Mountpoint, entry.FsType, 1, ct);
        });
        return new FilesystemGrowth(name, true, before, after);
    }

    /// <summary>After a mount of an existing filesystem: grows it into a device that was enlarged while it was not mounted.
    /// A failure is logged, not thrown: the volume is usable at its old size, and the next mount tries again.</summary>
    private async Task GrowAtMountAsync(string name, string device, string mountpoint, string fsType, CancellationToken ct)
    {
        try
        {
            await filesystem.GrowToDeviceAsync(device, mountpoint, fsType, GrowAtMountGap, ct);
        }
        catch (Exception e) when (e is HostCommandException or IOException or UnauthorizedAccessException)
        {
            LogGrowAtMountFailed(e, name, mountpoint);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot {Volume}@{Snapshot}: {Mountpoint} was frozen for {Milliseconds} ms")]
    private partial void LogFrozenSnapshot(string volume, string snapshot, string mountpoint, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume}: could not grow the filesystem at {Mountpoint} to its device; it keeps its old size until the next mount")]
    private partial void LogGrowAtMountFailed(Exception e, string volume, string mountpoint);
}
