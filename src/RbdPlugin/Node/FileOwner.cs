using System.Runtime.InteropServices;

namespace RbdPlugin.Node;

/// <summary>
/// Who owns a file (the BCL reads a file's mode but not its owner). statx(2) through glibc: its struct has the same
/// layout on every architecture, unlike stat's.
/// </summary>
internal static unsafe partial class FileOwner
{
    private const int AtFdCwd = -100;
    private const uint StatxUid = 0x8;
    private const int StatxUidOffset = 20; // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid

    /// <summary>The owner's uid; null when the file cannot be examined.</summary>
    public static uint? UidOf(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var buffer = stackalloc byte[256]; // sizeof(struct statx)
        return statx(AtFdCwd, path, 0, StatxUid, buffer) == 0 ? *(uint*)(buffer + StatxUidOffset) : null;
    }

    // int statx(int dirfd, const char *pathname, int flags, unsigned int mask, struct statx *statxbuf);
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string pathname, int flags, uint mask, byte* statxbuf);
}
