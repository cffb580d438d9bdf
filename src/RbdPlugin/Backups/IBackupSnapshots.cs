using RbdPlugin.Ceph;

namespace RbdPlugin.Backups;

/// <summary>
/// The image snapshots a backup reads from and keeps for the next incremental. Deliberately tiny: the
/// filesystem-consistent snapshot (freeze/thaw on the host that has the volume mounted) will implement it.
/// </summary>
internal interface IBackupSnapshots
{
    /// <summary>Takes the snapshot. Of a mounted volume it is crash-consistent: what a power cut at that instant would leave.</summary>
    Task CreateAsync(ImageRef image, string snapshot, CancellationToken ct);

    Task<bool> ExistsAsync(ImageRef image, string snapshot, CancellationToken ct);

    /// <summary>Removes the snapshot. Idempotent: a snapshot (or image) already gone is success.</summary>
    Task RemoveAsync(ImageRef image, string snapshot, CancellationToken ct);
}
