using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

// Flatten: a clone shares its snapshot's data until flattened; until then neither the snapshot nor its volume can go.
internal sealed partial class VolumeStore
{
    /// <summary>
    /// Copies the data the clone still shares with its snapshot into the clone. Idempotent: false when the volume
    /// depends on no snapshot. Its record keeps <see cref="VolumeSpec.FromSnapshot"/> as where it came from.
    /// </summary>
    public async Task<(VolumeRecord Record, bool Flattened)> FlattenAsync(string name, CancellationToken ct)
    {
        var notFound = new VolumeException(VolumeErrorKind.NotFound, $"no such volume: {name}; `rbd-plugin volume ls` lists them");
        var record = await catalog.GetAsync(name, ct) ?? throw notFound;
        try
        {
            var flattened = await ceph.FlattenImageAsync(record.Image, ct);
            if (flattened)
            {
                LogFlattened(name, record.Image.ToString(), record.Spec.FromSnapshot ?? "its parent");
            }

            return (record, flattened);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            throw notFound;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Flattened volume {Volume} ({Image}): it no longer depends on {Snapshot}")]
    private partial void LogFlattened(string volume, string image, string snapshot);
}
