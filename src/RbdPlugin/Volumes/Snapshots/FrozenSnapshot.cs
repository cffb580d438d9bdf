using System.Diagnostics;
using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// A filesystem-consistent snapshot of a volume mounted here: fsfreeze, snapshot, and always thaw — also when the
/// snapshot fails or takes longer than <see cref="FrozenLimit"/> (then the late snapshot is removed again, since it
/// may not be consistent, and the request fails). Only the daemon that has the volume mounted can do it; the
/// runbook CLI asks it over the admin socket.
/// </summary>
internal sealed partial class FrozenSnapshot(
    IFilesystem filesystem,
    VolumeSnapshots snapshots,
    ICephSnapshots ceph,
    VolumeSettings settings,
    ILogger<FrozenSnapshot> logger)
{
    /// <summary>How long `fsfreeze --freeze` may take (it flushes dirty data first; writers already wait meanwhile).</summary>
    internal static TimeSpan FreezeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the snapshot may keep the filesystem frozen: applications stall on every write until the thaw.</summary>
    internal static TimeSpan FrozenLimit { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Takes the snapshot of the volume mounted at <paramref name="entry"/>; the caller holds its lock.</summary>
    public async Task<SnapshotTaken> TakeAsync(VolumeRecord record, JournalEntry entry, string snapshot, CancellationToken ct)
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot {Volume}@{Snapshot}: {Mountpoint} was frozen for {Milliseconds} ms")]
    private partial void LogFrozenSnapshot(string volume, string snapshot, string mountpoint, long milliseconds);
}
