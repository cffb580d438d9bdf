using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace RbdPlugin.Hosting;

/// <summary>
/// The unix socket Docker connects to: its directory, a stale file left by a crash, and its mode. Whoever can
/// connect can mount any volume on this host, so the socket is root-only (0600) from the moment it can accept.
/// </summary>
internal static partial class ListenersUnixSocket
{
    /// <summary>sun_path is 108 bytes on Linux, including the terminating NUL.</summary>
    public const int MaxPathBytes = 107;

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Makes <paramref name="path"/> ready to bind: creates the directory (0755) if missing and removes a socket file
    /// nobody listens on any more. Refuses when the path is not a socket or a live process answers on it.
    /// </summary>
    /// <returns>True when a stale socket was removed.</returns>
    public static bool Prepare(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("rbd-plugin listens on a unix socket: Linux only");
        }

        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, DirectoryMode);
        }

        switch (Kind(path))
        {
            case FileKind.Missing:
                return false;
            case FileKind.Other:
                throw Listeners.Invalid($"Socket={path} exists and is not a socket; remove it or choose another path");
            case FileKind.Socket when IsLive(path):
                throw Listeners.Invalid(
                    $"Socket={path}: another process is listening there (a second rbd-plugin?); stop it or choose another path");
            default:
                File.Delete(path);
                return true;
        }
    }

    /// <summary>
    /// Kestrel's socket factory with one step added: a unix socket gets mode 0600 between bind() and listen(),
    /// so there is no moment at which another user could connect. Applies to every unix socket Kestrel binds.
    /// </summary>
    public static Socket CreateBoundListenSocket(EndPoint endpoint)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("rbd-plugin listens on a unix socket: Linux only");
        }

        var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        if (endpoint is UnixDomainSocketEndPoint && endpoint.ToString() is { Length: > 0 } path && path[0] is not ('\0' or '@'))
        {
            try
            {
                File.SetUnixFileMode(path, SocketMode);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        return socket;
    }

    /// <summary>
    /// A non-blocking connect: accepted or "would block" (backlog full) means a live listener; "refused" means the
    /// file outlived its process. A unix connect never waits on the network, so this cannot hang startup.
    /// </summary>
    private static bool IsLive(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused)
        {
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.TryAgain)
        {
            return true;
        }
    }

    private enum FileKind
    {
        Missing,
        Socket,
        Other,
    }

    // .NET has no managed way to ask a file's type, and deleting whatever sits at a mistyped Socket= path (a
    // regular file, say) must never happen. statx's layout is the same on every architecture, unlike stat's.
    private static unsafe FileKind Kind(string path)
    {
        const int AtFdCwd = -100;
        const int AtSymlinkNoFollow = 0x100;
        const uint StatxType = 0x1;
        const int ModeOffset = 28; // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid, u32 gid, u16 mode
        const int FileTypeMask = 0xF000;
        const int SocketType = 0xC000;
        const int ENOENT = 2;

        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == ENOENT
                ? FileKind.Missing
                : throw Listeners.Invalid($"Socket={path}: cannot inspect the path ({Marshal.GetPInvokeErrorMessage(errno)})");
        }

        var mode = *(ushort*)(buffer + ModeOffset);
        return (mode & FileTypeMask) == SocketType ? FileKind.Socket : FileKind.Other;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
