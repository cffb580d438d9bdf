using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// `volume limit` on Ceph: the volume's I/O limits as librbd settings on its image, and in its record. A host with
/// the volume mapped through librbd (rbd-nbd, rbd-fuse) applies them at once: the metadata write notifies every
/// client that has the image open, and librbd re-reads its settings on the refresh that follows.
/// </summary>
internal sealed partial class VolumeLimiter(ICephImages images, VolumeCatalog catalog, ILogger<VolumeLimiter> logger)
{
    /// <summary>
    /// Changes the limits named in <paramref name="options"/> (0 removes one) and keeps the others. The image's
    /// settings and its record go in one metadata write, then the index: a failure between leaves an index that the
    /// same command run again corrects. Run with the limits as they are, it writes them again, which repairs an image
    /// whose settings were edited by hand. Checked before anything is written.
    /// </summary>
    /// <returns>The record and the limits before.</returns>
    public async Task<(VolumeRecord Record, IoLimits Before)> LimitAsync(string name, IReadOnlyDictionary<string, string> options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var key in options.Keys.Where(k => !IoLimits.Options.Contains(k)))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"'{key}' is no I/O limit; give one or more of {string.Join(", ", IoLimits.Options)} as KEY=VALUE (0 removes it)");
        }

        var record = await catalog.GetAsync(name, ct)
            ?? throw new VolumeException(VolumeErrorKind.NotFound, $"no such volume: {name}; `rbd-plugin volume ls` lists them");
        var before = record.Limits;
        var after = IoLimits.Parse(options, before);
        var updated = after == before ? record : record with { LimitedTo = after };
        var metadata = new Dictionary<string, string?>(after.Metadata(), StringComparer.Ordinal) { [VolumeRecord.MetadataKey] = updated.ToJson() };
        await images.UpdateImageMetadataAsync(record.Image, metadata, ct);
        await catalog.PutAsync(updated, ct);
        if (after != before)
        {
            LogLimited(name, before.ToString(), after.ToString());
        }

        return (updated, before);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Changed the I/O limits of volume {Volume} from {Before} to {After}")]
    private partial void LogLimited(string volume, string before, string after);
}
