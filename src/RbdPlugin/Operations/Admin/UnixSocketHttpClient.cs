using System.Net.Sockets;

namespace RbdPlugin.Operations;

/// <summary>An HttpClient over a unix socket (Docker's plugin socket or the admin socket), with dockerd's Host
/// plugin.moby.localhost. Also compiled into bench/ (linked), which talks to the plugin socket the same way.</summary>
internal static class UnixSocketHttpClient
{
    public static HttpClient Create(string socketPath, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            UseProxy = false, // every connection is the socket: an HTTP_PROXY in the environment has no say
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://plugin.moby.localhost"), Timeout = timeout };
    }
}
