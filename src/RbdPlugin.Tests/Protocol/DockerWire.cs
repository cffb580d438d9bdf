using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RbdPlugin.Tests.Protocol;

/// <summary>Requests shaped exactly as dockerd sends them, and their answers.</summary>
internal static class DockerWire
{
    public const string Accept = Infrastructure.PluginClient.Accept;

    internal sealed record Answer(HttpStatusCode Status, string Body, string? ContentType, HttpResponseMessage Response);

    /// <summary>POST with no Content-Type, Docker's Accept header, and the body as Go's json.Encoder writes it (with "\n").</summary>
    public static HttpRequestMessage Post(string route, string? json) => Infrastructure.PluginClient.DockerRequest(route, json);

    public static async Task<Answer> SendAsync(this HttpClient client, string route, string? json) =>
        await client.SendRawAsync(Post(route, json));

    public static async Task<Answer> SendRawAsync(this HttpClient client, HttpRequestMessage request)
    {
        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return new Answer(response.StatusCode, body, response.Content.Headers.ContentType?.MediaType, response);
    }

    /// <summary>
    /// The bytes dockerd writes, byte for byte. Docker 20.10 (Go 1.19) uses the socket path as URL host, which Go
    /// trims at the first "/", so its Host header is empty; newer engines send "plugin.moby.localhost".
    /// Returns the status line and the body.
    /// </summary>
    public static async Task<(string StatusLine, string Body)> SendAsDockerdAsync(string socketPath, string host, string route, string json)
    {
        var body = Encoding.UTF8.GetBytes(json + "\n");
        var head = $"POST {route} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: {body.Length}\r\n" +
                   $"Accept: {Accept}\r\nAccept-Encoding: gzip\r\n\r\n";
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);

        // Read until the headers end, then exactly Content-Length bytes: Go keeps the connection open.
        var received = new List<byte>();
        var buffer = new byte[4096];
        int headerEnd;
        while ((headerEnd = IndexOf(received, "\r\n\r\n"u8)) < 0)
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                throw new IOException("connection closed before the headers ended");
            }

            received.AddRange(buffer.AsSpan(0, n));
        }

        var headers = Encoding.ASCII.GetString([.. received.Take(headerEnd)]);
        var length = int.Parse(headers.Split("\r\n").Single(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))[15..].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        while (received.Count < headerEnd + 4 + length)
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                throw new IOException("connection closed before the body ended");
            }

            received.AddRange(buffer.AsSpan(0, n));
        }

        return (headers.Split("\r\n")[0], Encoding.UTF8.GetString([.. received.Skip(headerEnd + 4).Take(length)]));
    }

    private static int IndexOf(List<byte> haystack, ReadOnlySpan<byte> needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Count; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}
