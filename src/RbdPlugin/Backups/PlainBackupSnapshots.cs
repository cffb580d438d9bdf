using RbdPlugin.Ceph;

namespace RbdPlugin.Backups;

/// <summary>
/// <see cref="IBackupSnapshots"/> on the native connection: a plain snapshot, crash-consistent for a mounted volume
/// (nothing is frozen). Typed errno results, no rbd CLI and no stderr to match.
/// </summary>
internal sealed class PlainBackupSnapshots(ICephSnapshots snapshots) : IBackupSnapshots
{
    public async Task<string?> CreateAsync(string volume, ImageRef image, string snapshot, CancellationToken ct)
    {
        await snapshots.CreateSnapshotAsync(image, snapshot, ct);
        return null;
    }

    public async Task<bool> ExistsAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        try
        {
            return (await snapshots.ListSnapshotsAsync(image, ct)).Any(s => s.Name == snapshot);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            return false; // no image, no snapshot
        }
    }

    public async Task RemoveAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        try
        {
            await snapshots.RemoveSnapshotAsync(image, snapshot, ct);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            // The image is gone, and its snapshots with it.
        }
    }
}
