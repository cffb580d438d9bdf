using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>Reads and writes the <see cref="FormatMark"/> of a volume's image (one metadata key); Ceph failures
/// become errors that say what to do.</summary>
internal sealed class FormatMarks(ICephImages images, VolumeSettings settings, TimeProvider time)
{
    /// <summary>Whether the image carries the mark, and its fields when they parse (a damaged mark still counts).</summary>
    public Task<(bool Present, FormatMark? Mark)> ReadAsync(VolumeRecord record, CancellationToken ct) =>
        CephErrors.Guard($"volume {record.Name}: read {FormatMark.Key} of {record.Image}", async () =>
        {
            var info = await images.StatImageAsync(record.Image, [FormatMark.Key], ct);
            return info?.Metadata.TryGetValue(FormatMark.Key, out var json) == true ? (true, FormatMark.FromJson(json)) : (false, (FormatMark?)null);
        });

    /// <summary>
    /// Marks the image as carrying a <paramref name="fsType"/> filesystem from now on. Idempotent. Written before the
    /// filesystem is used: a failure fails the Mount (whose undo unmaps), and the next Mount, finding the filesystem,
    /// writes it then.
    /// </summary>
    public Task WriteAsync(VolumeRecord record, string fsType, CancellationToken ct) =>
        CephErrors.Guard($"volume {record.Name}: write {FormatMark.Key} on {record.Image}", () =>
            images.SetImageMetadataAsync(record.Image, FormatMark.Key, new FormatMark(fsType, time.GetUtcNow(), settings.HostId).ToJson(), ct));

    /// <summary>The refusal for a marked image whose probe found nothing: what happened, that nothing changed, how to look.</summary>
    public static VolumeException Gone(VolumeRecord record, string device, FormatMark? mark)
    {
        var when = FormatMark.Describe(mark) is { Length: > 0 } described ? $" ({described})" : "";
        return new VolumeException(VolumeErrorKind.Conflict,
            $"volume {record.Name}: its image {record.Image} was formatted{when}, but {device} now shows no filesystem: it seems gone or unreadable, and formatting it again would destroy what is left, so nothing was formatted and the volume was not mounted. " +
            $"Inspect the image before anything writes to it (`rbd-plugin snapshot ls {record.Name}`; a read-only copy: `rbd export {record.Image} FILE`, then `blkid -p FILE`, `e2fsck -n FILE` or `xfs_repair -n FILE`); see docs/troubleshooting.md, \"the filesystem seems gone\"");
    }
}
