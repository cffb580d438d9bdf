using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RbdPlugin.Node;

/// <summary>
/// Reads a block device with O_DIRECT: the bytes come from the device, never from the page cache, and an I/O error
/// is an <see cref="IOException"/> instead of the silence blkid turns it into. .NET has no FileOptions value that
/// opens with O_DIRECT on Linux (FileOptions 0x20000000, Windows' NO_BUFFERING, is ignored there: checked in
/// /proc/self/fdinfo), so this opens the device with open(2) itself and reads into a page-aligned buffer, as O_DIRECT
/// requires.
/// </summary>
internal static unsafe partial class DirectRead
{
    /// <summary>Offsets, lengths and the buffer are aligned to this (a page; covers 512 and 4096-byte sectors).</summary>
    public const int Alignment = 4096;

    private const int ORdOnly = 0;
    private const int OCloExec = 0x80000;

    /// <summary>O_DIRECT is not the same bit everywhere: 040000 (octal, asm-generic: x86, s390x, riscv64,
    /// loongarch64), 0200000 on arm and arm64, 0400000 on ppc64le.</summary>
    private static int ODirect => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        Architecture.Ppc64le => 0x20000,
        _ => 0x4000,
    };

    /// <summary>
    /// Up to <paramref name="count"/> bytes from <paramref name="offset"/> (both multiples of <see cref="Alignment"/>),
    /// fewer at the end of the device. Throws <see cref="IOException"/> when the device cannot be opened or read.
    /// </summary>
    public static byte[] Read(string path, long offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (offset % Alignment != 0 || count % Alignment != 0)
        {
            throw new ArgumentException($"a direct read must be aligned to {Alignment} bytes (offset {offset}, count {count})");
        }

        var fd = Open(path, ORdOnly | OCloExec | ODirect);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open {path} for a direct read: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(count, Alignment), Alignment);
        try
        {
            var span = new Span<byte>(buffer, count);
            var read = 0;
            while (read < count)
            {
                // pread(2); an I/O error surfaces as an IOException naming the device.
                var n = RandomAccess.Read(handle, span[read..], offset + read);
                if (n <= 0)
                {
                    break;
                }

                read += n;
            }

            return span[..read].ToArray();
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    // int open(const char *pathname, int flags);   (no O_CREAT, so no mode argument)
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}
