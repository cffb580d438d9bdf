using RbdPlugin.Ceph;
using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>
/// Backup snapshots taken the way <c>snapshot create</c> takes them: of a volume mounted on this host, by its daemon
/// with the filesystem frozen around it (filesystem-consistent); of an unmounted one, directly. A volume mounted on
/// another host (or whose owner crashed) cannot be frozen from here: rather than fail a scheduled backup, it gets a
/// plain snapshot — crash-consistent — and the backup says so in its warning, naming the host to run it on instead.
/// </summary>
internal sealed class FrozenBackupSnapshots(SnapshotOperations operations, IBackupSnapshots plain) : IBackupSnapshots
{
    public async Task<string?> CreateAsync(string volume, ImageRef image, string snapshot, CancellationToken ct)
    {
        try
        {
            await operations.CreateAsync(volume, snapshot, ct);
            return null;
        }
        catch (VolumeException e) when (e.Kind == VolumeErrorKind.InUse)
        {
            await plain.CreateAsync(volume, image, snapshot, ct);
            return $"crash-consistent snapshot, the filesystem was not frozen: {e.Message}";
        }
    }

    public Task<bool> ExistsAsync(ImageRef image, string snapshot, CancellationToken ct) => plain.ExistsAsync(image, snapshot, ct);

    public Task RemoveAsync(ImageRef image, string snapshot, CancellationToken ct) => plain.RemoveAsync(image, snapshot, ct);
}
