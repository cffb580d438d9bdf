namespace RbdPlugin.Ceph;

/// <summary>Snapshots of RBD images (clones of them are images: <see cref="ICephImages.CloneImageAsync"/>).</summary>
internal interface ICephSnapshots
{
    /// <summary>Takes a snapshot of the image as it is on the OSDs now. EEXIST when the name is taken.</summary>
    Task CreateSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct);

    /// <summary>The image's user snapshots, oldest first. ENOENT when no such image.</summary>
    Task<IReadOnlyList<SnapshotInfo>> ListSnapshotsAsync(ImageRef image, CancellationToken ct);

    /// <summary>Removes a snapshot (one with clones waits in the snapshot trash for its last child). Idempotent: false when it was already gone.</summary>
    Task<bool> RemoveSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct);

    /// <summary>Writes the snapshot's data (and size) back over the image. The caller makes sure nobody has it mapped.</summary>
    Task RollbackSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct);
}
