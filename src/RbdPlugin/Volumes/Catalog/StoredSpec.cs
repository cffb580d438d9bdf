using System.Globalization;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>Volume options read back from Ceph or a backup (invariant 9), checked by the very code that checks Docker's.</summary>
internal static class StoredSpec
{
    /// <summary>
    /// Why a spec read back from a volume record or a backup manifest is one Create would refuse, or null when it is
    /// one Create could have made. It is written back as the <c>-o</c> options that make it and parsed again, so the
    /// allow-lists (fstype, mkfs and mount options), sizes, features, object size and pools are exactly Create's.
    /// Two rules of Create are about new volumes only and are left out: MaxSize (lowering it must not lock existing
    /// volumes out; a restore checks it itself) and the smallest size mkfs accepts (the filesystem is there already);
    /// the size must still be a positive multiple of 512.
    /// </summary>
    public static string? Problem(VolumeSpec? spec, VolumeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (spec is null)
        {
            return "it holds no volume options (spec)";
        }

        if (spec.Pool is null || spec.FsType is null || spec.MkfsOptions is null || spec.MountOptions is null)
        {
            return "its volume options lack pool, fsType, mkfsOptions or mountOptions";
        }

        if (spec.SizeBytes == 0 || spec.SizeBytes % 512 != 0)
        {
            return $"invalid option size={spec.SizeBytes.ToString(CultureInfo.InvariantCulture)}: a block device size must be a positive multiple of 512 bytes";
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["fstype"] = spec.FsType,
            ["pool"] = spec.Pool,
            ["mkfs-options"] = spec.MkfsOptions,
            ["mount-options"] = spec.MountOptions,
        };
        if (spec.Features is { } features)
        {
            options["features"] = features;
        }

        if (spec.ObjectSize is { } objectSize)
        {
            options["object-size"] = objectSize.ToString(CultureInfo.InvariantCulture);
        }

        if (spec.DataPool is { } dataPool)
        {
            options["data-pool"] = dataPool;
        }

        foreach (var (option, value) in (spec.Limits ?? IoLimits.None).ToOptions())
        {
            options[option] = value.ToString(CultureInfo.InvariantCulture);
        }

        try
        {
            _ = CreateOptionsParser.Parse(options, settings, MapperAbilities.Any); // no size given: the default size, always valid
            if (spec.FromSnapshot is { } from)
            {
                _ = SnapshotName.ParseSpec(from, "from-snapshot");
            }

            return null;
        }
        catch (VolumeException e) when (e.Kind == VolumeErrorKind.InvalidArgument)
        {
            return e.Message;
        }
    }
}
