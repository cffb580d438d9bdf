using System.Runtime.InteropServices;

namespace RbdPlugin.Ceph.Native;

// The C structs librbd fills in, laid out for Linux x86_64/aarch64 (LP64: pointers, size_t, time_t are 8 bytes;
// enums and int are 4). Field order and the padding the C compiler inserts were checked with offsetof() against
// /usr/include/rbd/librbd.h; NativeLayoutTests pins the same sizes and offsets.

/// <summary>rbd_image_info_t: 160 bytes. order at 24, then 4 bytes of padding after block_name_prefix (28..52) so that
/// parent_pool lands on 56.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RbdImageInfo
{
    public ulong Size;
    public ulong ObjSize;
    public ulong NumObjs;
    public int Order;
    public fixed byte BlockNamePrefix[24];   // RBD_MAX_BLOCK_NAME_SIZE, deprecated
    public long ParentPool;                  // deprecated
    public fixed byte ParentName[96];        // RBD_MAX_IMAGE_NAME_SIZE, deprecated
}

/// <summary>rbd_trash_image_info_t: 40 bytes. The 4-byte enum <c>source</c> at 16 is padded so deletion_time is at 24.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RbdTrashImageInfo
{
    public nint Id;                 // char *
    public nint Name;               // char *
    public int Source;              // rbd_trash_image_source_t
    public long DeletionTime;       // time_t
    public long DefermentEndTime;   // time_t
}

/// <summary>rbd_image_watcher_t: 24 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RbdImageWatcher
{
    public nint Addr;               // char *
    public long Id;                 // int64_t
    public ulong Cookie;            // uint64_t
}

/// <summary>struct timeval (sys/time.h) on LP64: time_t tv_sec and suseconds_t tv_usec, 8 bytes each.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TimeVal
{
    public long Seconds;
    public long Microseconds;
}
