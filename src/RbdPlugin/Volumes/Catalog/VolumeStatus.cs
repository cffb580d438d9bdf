using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>The Status object `docker volume inspect` shows: where the volume lives, where it is mounted, and which
/// host owns it (lease: held, expired = the owner did not release and its lock lapsed, or none). Numbers stay numbers
/// for JSON readers; Go templates (<c>docker volume inspect -f</c>) print every JSON number as a float
/// (<c>1.073741824e+10</c>), so the large ones also come as strings: <c>sizeBytesText</c>, <c>limitsText</c>.</summary>
internal static class VolumeStatus
{
    public static IReadOnlyDictionary<string, object> Of(VolumeRecord record, ImageInfo image, JournalEntry? entry, string hostId, LeaseView lease)
    {
        var status = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["pool"] = record.Spec.Pool,
            ["image"] = image.Image.ToString(),
            ["sizeBytes"] = image.SizeBytes,
            ["sizeBytesText"] = image.SizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
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

        if (record.Spec.FromSnapshot is { } from)
        {
            status["createdFrom"] = from; // kept after a flatten: where its data came from
        }

        if (!record.Limits.IsNone)
        {
            status["limits"] = record.Limits.ToOptions(); // by option name: IOPS, bytes per second
            status["limitsText"] = record.Limits.ToString(); // "iops-limit=500 write-bps-limit=10M": what volume limit takes
        }

        if (record.Spec.Encrypted)
        {
            status["encrypted"] = true;
        }

        status["lease"] = lease.StateText;
        if (lease.Host is not null)
        {
            status["owner"] = lease.Host;
        }

        if (lease.Since is { } since)
        {
            status["ownerSince"] = since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }

        if (entry is not null)
        {
            status["host"] = hostId;
            status["device"] = entry.Device;
            status["mountpoint"] = entry.Mountpoint;
            status["mapper"] = entry.Mapper;
            if (entry.Crypt is not null)
            {
                status["cryptDevice"] = entry.FsDevice;
            }

            status["mountCount"] = entry.TotalRefs;
        }

        return status;
    }
}
