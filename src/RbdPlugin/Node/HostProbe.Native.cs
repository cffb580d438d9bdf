using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RbdPlugin.Node;

internal sealed partial class HostProbe
{
    private const int OpenReadOnly = 0;
    private const int OpenExclusive = 0x80; // O_EXCL: on a block device without O_CREAT, "no one else holds it"
    private const int OpenCloseOnExec = 0x80000;
    private const int Busy = 16; // EBUSY

    public bool IsInUse(string device)
    {
        var fd = Open(device, OpenReadOnly | OpenExclusive | OpenCloseOnExec);
        if (fd >= 0)
        {
            _ = Close(fd);
            return false;
        }

        // Anything but EBUSY (gone, not a device, no medium) means nobody can be using it through this node.
        return Marshal.GetLastPInvokeError() == Busy;
    }

    public bool AcceptsConnections(string unixSocketPath)
    {
        if (!File.Exists(unixSocketPath))
        {
            return false;
        }

        // udevd's control socket is SOCK_SEQPACKET; a stream server answers the second try.
        foreach (var type in new[] { SocketType.Seqpacket, SocketType.Stream })
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(unixSocketPath));
                return true;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ProtocolType || e.SocketErrorCode == SocketError.ProtocolNotSupported)
            {
                // wrong socket type: try the next
            }
            catch (SocketException)
            {
                return false; // refused: nobody listens
            }
        }

        return false;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
