using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Resize on Ceph: grow the image and record the new size. The filesystem is the business of the host that has the
/// volume mounted (<see cref="VolumeDriver.GrowAsync"/>), or of its next mount.
/// </summary>
internal sealed partial class VolumeResizer(ICephImages images, VolumeCatalog catalog, VolumeSettings settings, ILogger<VolumeResizer> logger)
{
    /// <summary>
    /// Grows the volume's image to <paramref name="sizeBytes"/> and records it (<see cref="VolumeRecord.ResizedTo"/>).
    /// Shrinking is refused and changes nothing: a filesystem cannot be shrunk under a mounted ext4/xfs, and the
    /// bytes past the new end would be lost. Idempotent: the current size again changes nothing.
    /// </summary>
    /// <returns>The record and the image size before.</returns>
    public async Task<(VolumeRecord Record, ulong Before)> ResizeAsync(string name, ulong sizeBytes, CancellationToken ct)
    {
        var (record, image) = await catalog.FindAsync(name, ct)
            ?? throw new VolumeException(VolumeErrorKind.NotFound, $"no such volume: {name}; `rbd-plugin volume ls` lists them");

        var asked = ByteSize.Format(sizeBytes);
        if (sizeBytes < image.SizeBytes)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"volume {name} is {ByteSize.Format(image.SizeBytes)}: shrinking it to {asked} is refused (the filesystem cannot shrink and data past the new end would be lost); nothing was changed");
        }

        if (sizeBytes > settings.MaxSizeBytes)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"size {asked}: the largest allowed size is {ByteSize.Format(settings.MaxSizeBytes)} (setting MaxSize)");
        }

        if (sizeBytes % 512 != 0)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, $"size {sizeBytes}: a block device size must be a multiple of 512 bytes");
        }

        if (sizeBytes > image.SizeBytes)
        {
            await images.ResizeImageAsync(record.Image, sizeBytes, ct);
            LogResized(name, ByteSize.Format(image.SizeBytes), asked);
        }

        return (await RecordSizeAsync(record, sizeBytes, ct), image.SizeBytes);
    }

    /// <summary>Records the image's size after it changed behind the record's back (a rollback to a smaller snapshot).</summary>
    public async Task<VolumeRecord> RecordSizeAsync(VolumeRecord record, ulong sizeBytes, CancellationToken ct)
    {
        if ((record.ResizedTo ?? record.Spec.SizeBytes) == sizeBytes)
        {
            return record;
        }

        record = record with { ResizedTo = sizeBytes };
        await images.SetImageMetadataAsync(record.Image, VolumeRecord.MetadataKey, record.ToJson(), ct);
        await catalog.PutAsync(record, ct);
        return record;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resized volume {Volume} from {Before} to {After}")]
    private partial void LogResized(string volume, string before, string after);
}
