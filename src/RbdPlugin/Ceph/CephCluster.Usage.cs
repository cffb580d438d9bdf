using System.Runtime.InteropServices;
using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

// How much of an image is allocated: what `rbd du` reports, from the object map.
internal sealed partial class CephCluster
{
    public Task<ulong?> UsedBytesAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return RunAsync($"rbd_diff_iterate2 {image}", image.Pool, image.Namespace, io => Used(io, image), ct);
    }

    /// <summary>
    /// Sums the objects that exist (whole_object = 1, from the start of the image's history), the way `rbd du` does
    /// with fast-diff. Without a valid fast-diff map librbd would stat every object of the image instead, which for a
    /// large image is far too slow for a listing: then the answer is null (unknown).
    /// </summary>
    private static unsafe ulong? Used(SafeIoCtxHandle io, ImageRef image)
    {
        using var img = TryOpen(io, image, readOnly: true);
        if (img is null)
        {
            return null;
        }

        NativeCall.Check(Librbd.rbd_get_features(img, out var features), $"rbd_get_features {image}");
        NativeCall.Check(Librbd.rbd_get_flags(img, out var flags), $"rbd_get_flags {image}");
        if ((features & RbdFeatures.FastDiff) == 0 || (flags & Librbd.FlagFastDiffInvalid) != 0)
        {
            return null;
        }

        NativeCall.Check(Librbd.rbd_stat(img, out var info, (nuint)sizeof(RbdImageInfo)), $"rbd_stat {image}");
        ulong used = 0;
        NativeCall.Check(
            Librbd.rbd_diff_iterate2(img, null, 0, info.Size, includeParent: 1, wholeObject: 1, &CountExtent, &used),
            $"rbd_diff_iterate2 {image}");
        return used;
    }

    /// <summary>Called by librbd on its own thread for each extent, while <c>Used</c>'s frame (and <c>used</c>) is live.</summary>
    [UnmanagedCallersOnly]
    private static unsafe int CountExtent(ulong offset, nuint length, int exists, void* arg)
    {
        if (exists != 0)
        {
            *(ulong*)arg += length;
        }

        return 0;
    }
}
