using RbdPlugin.Ceph;

namespace RbdPlugin.Backups;

/// <summary>
/// The image snapshots a backup reads from and keeps for the next incremental. Deliberately tiny:
/// <see cref="FrozenBackupSnapshots"/> takes them filesystem-consistent, <see cref="PlainBackupSnapshots"/> plain.
/// </summary>
internal interface IBackupSnapshots
{
    /// <summary>Takes the snapshot of <paramref name="volume"/>'s image.</summary>
    /// <returns>Null, or a warning for the operator when the snapshot of a mounted volume is only crash-consistent.</returns>
    Task<string?> CreateAsync(string volume, ImageRef image, string snapshot, CancellationToken ct);

    Task<bool> ExistsAsync(ImageRef image, string snapshot, CancellationToken ct);

    /// <summary>Removes the snapshot. Idempotent: a snapshot (or image) already gone is success.</summary>
    Task RemoveAsync(ImageRef image, string snapshot, CancellationToken ct);
}
