namespace RbdPlugin.Node;

/// <summary>Filesystem work on a block device: probe, mkfs, mount, unmount (blkid, mkfs.*, mount, umount).</summary>
internal interface IFilesystem
{
    /// <summary>
    /// What the device carries according to blkid (low-level probe, filesystems and partition tables): e.g. "ext4",
    /// "xfs", "dos", "gpt"; null only when blkid finds no signature at all. Never guesses "empty" on a probe error.
    /// </summary>
    Task<string?> ProbeAsync(string device, CancellationToken ct);

    /// <summary>
    /// mkfs with discard off and lazy init on (ext4: -E nodiscard,lazy_itable_init=1,lazy_journal_init=1; xfs: -K).
    /// Refuses (throws) when the device carries any signature: it probes again itself right before mkfs.
    /// <paramref name="zeroed"/>: the device must read as zeros at both ends too, and ext4 skips zeroing its journal
    /// on that promise; false for a crypt device (its fresh cleartext reads as noise), which gets neither.
    /// </summary>
    Task MakeAsync(string device, string fsType, IReadOnlyList<string> extraOptions, CancellationToken ct, bool zeroed = true);

    /// <summary>True when the device has never held anything: blkid finds no signature and its first and last MiBs
    /// (read with O_DIRECT; an I/O error throws) are zeros. What a LUKS header may be written over.</summary>
    Task<bool> IsBlankAsync(string device, CancellationToken ct);

    /// <summary>Mounts the device at the mountpoint (created if missing). Idempotent: already mounted there = success.</summary>
    Task MountAsync(string device, string mountpoint, string fsType, IReadOnlyList<string> options, CancellationToken ct);

    /// <summary>Unmounts. Idempotent: not mounted = success.</summary>
    Task UnmountAsync(string mountpoint, CancellationToken ct);

    /// <summary>
    /// Lazy unmount (umount -l): detaches the mount now even while files are open, the filesystem goes when the last
    /// user lets go. Only for a volume this host lost: its data path is fenced, so nothing more reaches the image.
    /// Idempotent.
    /// </summary>
    Task DetachAsync(string mountpoint, CancellationToken ct);

    /// <summary>
    /// Grows the mounted filesystem to its device when the device is at least <paramref name="minimumGap"/> larger
    /// than the filesystem says it is (ext4: resize2fs, xfs: xfs_growfs; both online). Returns the filesystem's
    /// size before and after; equal when there was nothing to grow.
    /// </summary>
    Task<(ulong Before, ulong After)> GrowToDeviceAsync(string device, string mountpoint, string fsType, ulong minimumGap, CancellationToken ct);

    /// <summary>
    /// Before a mount: grows an unmounted ext4 to its device when the device is at least <paramref name="minimumGap"/>
    /// larger (e2fsck -f -p, then resize2fs), which needs no capability, unlike the online grow. Other filesystems
    /// (xfs grows only mounted) are left for <see cref="GrowToDeviceAsync"/>. Returns the size before and after.
    /// </summary>
    Task<(ulong Before, ulong After)> GrowUnmountedAsync(string device, string fsType, ulong minimumGap, CancellationToken ct);

    /// <summary>
    /// fsfreeze --freeze: flushes the mounted filesystem and blocks every new write until <see cref="ThawAsync"/>,
    /// so a snapshot taken meanwhile is consistent. Bounded by <paramref name="timeout"/> (flushing may take a while).
    /// </summary>
    Task FreezeAsync(string mountpoint, TimeSpan timeout, CancellationToken ct);

    /// <summary>fsfreeze --unfreeze. Idempotent: a filesystem that is not frozen is success.</summary>
    Task ThawAsync(string mountpoint, CancellationToken ct);
}
