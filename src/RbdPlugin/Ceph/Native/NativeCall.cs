using System.Runtime.InteropServices;
using System.Text;

namespace RbdPlugin.Ceph.Native;

/// <summary>Small helpers shared by the native call sites.</summary>
internal static class NativeCall
{
    /// <summary>Returns a non-negative result; turns a negated errno into <see cref="CephException"/>.</summary>
    public static int Check(int rc, string operation) => rc < 0 ? throw new CephException(operation, -rc) : rc;

    /// <summary>UTF-8 bytes with a trailing NUL, so even "" has an address to pin; pass Length - 1 as the length.</summary>
    public static byte[] Utf8Z(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }

    /// <summary>A NUL-terminated UTF-8 C string owned by the library, copied (null stays null).</summary>
    public static string? CString(nint pointer) => Marshal.PtrToStringUTF8(pointer);

    /// <summary>A UTF-8 string of known length (omap keys and values are length-delimited, not NUL-terminated).</summary>
    public static unsafe string Utf8(nint pointer, nuint length) =>
        length == 0 ? "" : Encoding.UTF8.GetString((byte*)pointer, checked((int)length));

    /// <summary>A copy of a buffer of known length owned by the library (omap values are binary).</summary>
    public static unsafe byte[] Bytes(nint pointer, nuint length) =>
        length == 0 ? [] : new ReadOnlySpan<byte>((byte*)pointer, checked((int)length)).ToArray();

    /// <summary>The text in a buffer librbd filled with a C string, up to its NUL.</summary>
    public static string FromBuffer(ReadOnlySpan<byte> buffer)
    {
        var end = buffer.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
    }
}
