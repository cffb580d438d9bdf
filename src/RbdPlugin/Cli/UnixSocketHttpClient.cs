using System.Net.Sockets;

namespace RbdPlugin.Cli;

/// <summary>An HttpClient that reaches a plugin's unix socket the way dockerd does (Host plugin.moby.localhost).</summary>
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
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://plugin.moby.localhost"), Timeout = timeout };
    }
}
