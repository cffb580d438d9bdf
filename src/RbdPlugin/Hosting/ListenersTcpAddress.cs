using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RbdPlugin.Hosting;

/// <summary>
/// A TCP listener setting (TcpListen, MetricsListen) parsed: <c>127.0.0.1:8443</c>, <c>[::1]:8443</c>, <c>0.0.0.0:8443</c> or <c>localhost:8443</c>.
/// Only IP literals and "localhost": a name that resolves through DNS could silently move the listener off loopback.
/// </summary>
internal sealed record TcpListenAddress(string Text, IPAddress? Address, int Port)
{
    /// <summary>"localhost" (Address null) listens on both 127.0.0.1 and ::1, so it counts as loopback.</summary>
    public bool IsLoopback => Address is null || IPAddress.IsLoopback(Address);

    /// <param name="text">The setting's value.</param>
    /// <param name="error">Why it is not an address, naming <paramref name="setting"/>.</param>
    /// <param name="setting">The setting's name, for the error.</param>
    public static TcpListenAddress? TryParse(string text, out string? error, string setting = "TcpListen")
    {
        ArgumentNullException.ThrowIfNull(text);
        error = null;
        string host;
        string port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"{setting}={text} is not [ipv6]:port, e.g. [::1]:8443";
                return null;
            }

            host = text[1..close];
            port = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon <= 0 || text.IndexOf(':') != colon)
            {
                error = $"{setting}={text} is not host:port, e.g. 127.0.0.1:8443 (IPv6 goes in brackets: [::1]:8443)";
                return null;
            }

            host = text[..colon];
            port = text[(colon + 1)..];
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > IPEndPoint.MaxPort)
        {
            error = $"{setting}={text}: the port must be a number from 1 to 65535 (0 picks a free one)";
            return null;
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            if (number == 0)
            {
                error = $"{setting}={text}: localhost needs a fixed port; use 127.0.0.1:0 for a random one";
                return null;
            }

            return new TcpListenAddress(text, null, number);
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            error = $"{setting}={text}: the host must be an IP address or localhost, not a DNS name";
            return null;
        }

        return new TcpListenAddress(text, address, number);
    }

    public void Listen(KestrelServerOptions kestrel, Action<ListenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        if (Address is null)
        {
            kestrel.ListenLocalhost(Port, configure);
        }
        else
        {
            kestrel.Listen(Address, Port, configure);
        }
    }
}
