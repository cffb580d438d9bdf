using System.Runtime.InteropServices;

namespace RbdPlugin.Ceph.Native;

/// <summary>
/// The librbd calls we use, nothing more. Signatures follow /usr/include/rbd/librbd.h (Ceph 16.2.15): every call
/// returns 0 (or a count) on success and a negated errno on failure.
/// </summary>
internal static unsafe partial class Librbd
{
    private const string Lib = "librbd.so.1";

    // enum { RBD_IMAGE_OPTION_FORMAT = 0, RBD_IMAGE_OPTION_FEATURES = 1, RBD_IMAGE_OPTION_ORDER = 2, ...
    //        RBD_IMAGE_OPTION_DATA_POOL = 10, ... }
    public const int ImageOptionFeatures = 1;
    public const int ImageOptionOrder = 2;
    public const int ImageOptionDataPool = 10;

    // void rbd_image_options_create(rbd_image_options_t* opts);
    [LibraryImport(Lib)]
    public static partial void rbd_image_options_create(out nint opts);

    // void rbd_image_options_destroy(rbd_image_options_t opts);
    [LibraryImport(Lib)]
    public static partial void rbd_image_options_destroy(nint opts);

    // int rbd_image_options_set_string(rbd_image_options_t opts, int optname, const char* optval);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_image_options_set_string(nint opts, int optname, string optval);

    // int rbd_image_options_set_uint64(rbd_image_options_t opts, int optname, uint64_t optval);
    [LibraryImport(Lib)]
    public static partial int rbd_image_options_set_uint64(nint opts, int optname, ulong optval);

    // int rbd_create4(rados_ioctx_t io, const char *name, uint64_t size, rbd_image_options_t opts);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_create4(SafeIoCtxHandle io, string name, ulong size, nint opts);

    // int rbd_remove(rados_ioctx_t io, const char *name);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_remove(SafeIoCtxHandle io, string name);

    // int rbd_open(rados_ioctx_t io, const char *name, rbd_image_t *image, const char *snap_name);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_open(SafeIoCtxHandle io, string name, out SafeRbdImageHandle image, string? snapName);

    // int rbd_open_read_only(rados_ioctx_t io, const char *name, rbd_image_t *image, const char *snap_name);
    // A read-only open registers no watch on the header, so it does not show up in rbd_watchers_list.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_open_read_only(SafeIoCtxHandle io, string name, out SafeRbdImageHandle image, string? snapName);

    // int rbd_open_by_id_read_only(rados_ioctx_t io, const char *id, rbd_image_t *image, const char *snap_name);
    // Opens an image in the trash too (it keeps its id there, not its name).
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_open_by_id_read_only(SafeIoCtxHandle io, string id, out SafeRbdImageHandle image, string? snapName);

    // int rbd_close(rbd_image_t image);
    [LibraryImport(Lib)]
    public static partial int rbd_close(nint image);

    // int rbd_stat(rbd_image_t image, rbd_image_info_t *info, size_t infosize);
    [LibraryImport(Lib)]
    public static partial int rbd_stat(SafeRbdImageHandle image, out RbdImageInfo info, nuint infoSize);

    // int rbd_get_features(rbd_image_t image, uint64_t *features);
    [LibraryImport(Lib)]
    public static partial int rbd_get_features(SafeRbdImageHandle image, out ulong features);

    // #define RBD_FLAG_FAST_DIFF_INVALID (1<<1): the object map cannot answer a diff; librbd would read every object.
    public const ulong FlagFastDiffInvalid = 1UL << 1;

    // int rbd_get_flags(rbd_image_t image, uint64_t *flags);
    [LibraryImport(Lib)]
    public static partial int rbd_get_flags(SafeRbdImageHandle image, out ulong flags);

    // int rbd_diff_iterate2(rbd_image_t image, const char *fromsnapname, uint64_t ofs, uint64_t len,
    //     uint8_t include_parent, uint8_t whole_object, int (*cb)(uint64_t, size_t, int, void *), void *arg);
    // The callback gets (offset, length, exists, arg) per extent; a negative return stops the walk with that error.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_diff_iterate2(SafeRbdImageHandle image, string? fromSnapName, ulong offset, ulong length,
        byte includeParent, byte wholeObject, delegate* unmanaged<ulong, nuint, int, void*, int> callback, void* arg);

    // int rbd_get_id(rbd_image_t image, char *id, size_t id_len);  (-ERANGE when id_len is too small)
    [LibraryImport(Lib)]
    public static partial int rbd_get_id(SafeRbdImageHandle image, byte* id, nuint idLen);

    // int rbd_metadata_get(rbd_image_t image, const char *key, char *value, size_t *val_len);
    // -ENOENT: no such key. -ERANGE: buffer too small, *val_len set to the size needed (including the NUL).
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_metadata_get(SafeRbdImageHandle image, string key, byte* value, ref nuint valLen);

    // int rbd_metadata_set(rbd_image_t image, const char *key, const char *value);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_metadata_set(SafeRbdImageHandle image, string key, string value);

    // int rbd_metadata_remove(rbd_image_t image, const char *key);  -ENOENT: no such key.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_metadata_remove(SafeRbdImageHandle image, string key);

    // int rbd_rename(rados_ioctx_t src_io_ctx, const char *srcname, const char *destname);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_rename(SafeIoCtxHandle io, string srcname, string destname);

    // int rbd_trash_move(rados_ioctx_t io, const char *name, uint64_t delay);  (delay in seconds)
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_trash_move(SafeIoCtxHandle io, string name, ulong delay);

    // int rbd_trash_list(rados_ioctx_t io, rbd_trash_image_info_t *trash_entries, size_t *num_entries);
    // -ERANGE when *num_entries is too small; it is then set to the count needed.
    [LibraryImport(Lib)]
    public static partial int rbd_trash_list(SafeIoCtxHandle io, RbdTrashImageInfo* entries, ref nuint numEntries);

    // void rbd_trash_list_cleanup(rbd_trash_image_info_t *trash_entries, size_t num_entries);
    [LibraryImport(Lib)]
    public static partial void rbd_trash_list_cleanup(RbdTrashImageInfo* entries, nuint numEntries);

    // int rbd_trash_remove(rados_ioctx_t io, const char *id, bool force);
    // Without force an entry whose deferment has not ended is refused with -EPERM.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_trash_remove(SafeIoCtxHandle io, string id, [MarshalAs(UnmanagedType.U1)] bool force);

    // int rbd_trash_restore(rados_ioctx_t io, const char *id, const char *name);
    // -EEXIST when an image of that name exists; -ENOENT when the id is not in the trash.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rbd_trash_restore(SafeIoCtxHandle io, string id, string name);

    // int rbd_watchers_list(rbd_image_t image, rbd_image_watcher_t *watchers, size_t *max_watchers);
    // -ERANGE when *max_watchers is too small; it is then set to the count needed.
    [LibraryImport(Lib)]
    public static partial int rbd_watchers_list(SafeRbdImageHandle image, RbdImageWatcher* watchers, ref nuint maxWatchers);

    // void rbd_watchers_list_cleanup(rbd_image_watcher_t *watchers, size_t num_watchers);
    [LibraryImport(Lib)]
    public static partial void rbd_watchers_list_cleanup(RbdImageWatcher* watchers, nuint numWatchers);
}
