using System.Runtime.InteropServices;

namespace RbdPlugin.Ceph.Native;

// Snapshots, clones and resize (/usr/include/rbd/librbd.h, Ceph 16.2.15). Kept apart from Librbd.cs so the image
// basics stay short.
internal static unsafe partial class Librbd
{
    // RBD_IMAGE_OPTION_CLONE_FORMAT = 12: 1 = clone of a protected snapshot, 2 = no protection needed (Mimic+).
    public const int ImageOptionCloneFormat = 12;

    // int rbd_snap_list(rbd_image_t image, rbd_snap_info_t *snaps, int *max_snaps);
    // Returns the count; -ERANGE when *max_snaps is too small, which is then set to the entries needed: the count
    // plus one zeroed terminating entry (so an image without snapshots still needs room for 1). User snapshots only.
    [LibraryImport(Lib)]
    public static partial int rbd_snap_list(SafeRbdImageHandle image, RbdSnapInfo* snaps, ref int maxSnaps);

    // void rbd_snap_list_end(rbd_snap_info_t *snaps);  (frees the names)
    [LibraryImport(Lib)]
    public static partial void rbd_snap_list_end(RbdSnapInfo* snaps);

    // int rbd_snap_get_timestamp(rbd_image_t image, uint64_t snap_id, struct timespec *timestamp);
    [LibraryImport(Lib)]
    public static partial int rbd_snap_get_timestamp(SafeRbdImageHandle image, ulong snapId, out TimeSpec timestamp);

    // int rbd_snap_create(rbd_image_t image, const char *snapname);  (-EEXIST when the name is taken)
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_snap_create(SafeRbdImageHandle image, string snapName);

    // int rbd_snap_remove(rbd_image_t image, const char *snapname);
    // A snapshot with clone-v2 children is moved to the snapshot trash and goes when its last child does.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_snap_remove(SafeRbdImageHandle image, string snapName);

    // int rbd_snap_rollback(rbd_image_t image, const char *snapname);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_snap_rollback(SafeRbdImageHandle image, string snapName);

    // int rbd_clone3(rados_ioctx_t p_ioctx, const char *p_name, const char *p_snapname,
    //                rados_ioctx_t c_ioctx, const char *c_name, rbd_image_options_t c_opts);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_clone3(SafeIoCtxHandle parentIo, string parentName, string parentSnapName,
        SafeIoCtxHandle childIo, string childName, nint childOpts);

    // int rbd_resize2(rbd_image_t image, uint64_t size, bool allow_shrink, librbd_progress_fn_t cb, void *cbdata);
    // librbd calls cb without checking it for null, so a no-op callback is passed.
    [LibraryImport(Lib)]
    public static partial int rbd_resize2(SafeRbdImageHandle image, ulong size, [MarshalAs(UnmanagedType.U1)] bool allowShrink,
        delegate* unmanaged<ulong, ulong, nint, int> progress, nint progressData);

    // int rbd_flatten_with_progress(rbd_image_t image, librbd_progress_fn_t cb, void *cbdata);
    [LibraryImport(Lib)]
    public static partial int rbd_flatten_with_progress(SafeRbdImageHandle image, delegate* unmanaged<ulong, ulong, nint, int> progress, nint progressData);

    /// <summary>librbd_progress_fn_t that ignores progress (0 = carry on).</summary>
    [UnmanagedCallersOnly]
    public static int NoProgress(ulong offset, ulong total, nint data) => 0;
}

/// <summary>rbd_snap_info_t: 24 bytes (id, size, const char* name).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RbdSnapInfo
{
    public ulong Id;
    public ulong Size;
    public nint Name;               // const char *
}

/// <summary>struct timespec on LP64: time_t tv_sec and long tv_nsec, 8 bytes each.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TimeSpec
{
    public long Seconds;
    public long Nanoseconds;
}
