using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>The Status object `docker volume inspect` shows: where the volume lives and where it is mounted.</summary>
internal static class VolumeStatus
{
    public static IReadOnlyDictionary<string, object> Of(VolumeRecord record, ImageInfo image, JournalEntry? entry, string hostId)
    {
        var status = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["pool"] = record.Spec.Pool,
            ["image"] = image.Image.ToString(),
            ["sizeBytes"] = image.SizeBytes,
            ["size"] = ByteSize.Format(image.SizeBytes),
            ["fstype"] = record.Spec.FsType,
            ["features"] = string.Join(',', RbdFeatures.Names(image.Features)),
            ["createdBy"] = record.CreatedBy,
            ["mounted"] = entry is not null,
        };
        if (record.Namespace.Length > 0)
        {
            status["namespace"] = record.Namespace;
        }

        if (entry is not null)
        {
            status["host"] = hostId;
            status["device"] = entry.Device;
            status["mountpoint"] = entry.Mountpoint;
            status["mapper"] = entry.Mapper;
            status["mountCount"] = entry.TotalRefs;
        }

        return status;
    }
}
