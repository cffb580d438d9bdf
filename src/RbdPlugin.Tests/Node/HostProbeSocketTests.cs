using System.Net.Sockets;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

/// <summary>
/// The host facts the krbd mapper decides noudev and leftovers by, against real sockets and files: a live server,
/// a socket file nobody listens on any more (a udevd that died), and a path that is not a block device.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class HostProbeSocketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rbd-probe-").FullName;

    [Theory]
    [InlineData(SocketType.Stream)]
    [InlineData(SocketType.Seqpacket)] // what systemd-udevd's control socket is
    public void AcceptsConnections_LiveServer_True(SocketType type)
    {
        var path = Path.Combine(_dir, "live.sock");
        using var server = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(path));
        server.Listen();

        Assert.True(new HostProbe().AcceptsConnections(path));
    }

    [Fact]
    public void AcceptsConnections_SocketFileLeftByADeadServer_False()
    {
        // .NET unlinks the sockets it bound; a process that ends without unlinking leaves the file, as udevd does.
        var path = Path.Combine(_dir, "stale.sock");
        using var server = System.Diagnostics.Process.Start("python3",
            ["-c", "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1]); s.listen()", path])!;
        server.WaitForExit(30_000);

        Assert.True(File.Exists(path));
        Assert.False(new HostProbe().AcceptsConnections(path));
    }

    [Fact]
    public void AcceptsConnections_NoSuchPath_False() =>
        Assert.False(new HostProbe().AcceptsConnections(Path.Combine(_dir, "none.sock")));

    [Fact]
    public void IsInUse_RegularFileOrMissingPath_False()
    {
        var file = Path.Combine(_dir, "plain");
        File.WriteAllText(file, "x");

        Assert.False(new HostProbe().IsInUse(file));
        Assert.False(new HostProbe().IsInUse(Path.Combine(_dir, "missing")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
