using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Options;
using RbdPlugin.Hosting;
using RbdPlugin.Protocol;
using RbdPlugin.Tests.Protocol;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Hosting;

/// <summary>The unix socket: created where Docker looks, root-only, and recovered after a crash.</summary>
[Trait("Tier", "Fast")]
[SupportedOSPlatform("linux")]
public sealed class UnixSocketListenerTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("rbdp-");

    public void Dispose() => directory.Delete(recursive: true);

    private string SocketPath => Path.Combine(directory.FullName, "plugins", "rbd.sock");

    [Fact]
    public async Task Start_SocketPath_SocketIsMode0600()
    {
        // Act
        await using var server = await PluginServer.StartAsync(new PluginOptions { Socket = SocketPath }, new FakeVolumeDriver());

        // Assert
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));
    }

    [Fact]
    public async Task Start_ParentDirectoryMissing_CreatedWith0755()
    {
        var parent = Path.Combine(directory.FullName, "run", "docker", "plugins");
        var socket = Path.Combine(parent, "rbd.sock");

        await using var server = await PluginServer.StartAsync(new PluginOptions { Socket = socket }, new FakeVolumeDriver());

        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead |
            UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(parent));
    }

    [Fact]
    public async Task Start_StaleSocketFromCrash_ReplacedAndServes()
    {
        // Arrange: a socket file whose process is gone. .NET unlinks the file of a socket it bound when disposing
        // it, so the file is moved to its place first, as a crashed process would have left it.
        Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
        var elsewhere = Path.Combine(directory.FullName, "dead.sock");
        using (var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            dead.Bind(new UnixDomainSocketEndPoint(elsewhere));
            File.Move(elsewhere, SocketPath);
        }

        Assert.Contains(SocketPath, Directory.GetFileSystemEntries(Path.GetDirectoryName(SocketPath)!));

        // Act
        await using var server = await PluginServer.StartAsync(new PluginOptions { Socket = SocketPath }, new FakeVolumeDriver());
        using var client = PluginServer.UnixClient(SocketPath);
        var answer = await client.SendAsync(Routes.Activate, null);

        // Assert
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Contains(server.Logs.Entries, e => e.Message.StartsWith("Removed stale socket", StringComparison.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));
    }

    [Fact]
    public async Task Start_AnotherProcessListening_RefusedAndLeavesItAlone()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
        using var live = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        live.Bind(new UnixDomainSocketEndPoint(SocketPath));
        live.Listen();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => PluginServer.StartAsync(new PluginOptions { Socket = SocketPath }, new FakeVolumeDriver()));

        Assert.Contains($"Socket={SocketPath}: another process is listening there", error.Message, StringComparison.Ordinal);
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath));
    }

    [Fact]
    public async Task Start_RegularFileAtSocketPath_RefusedAndFileKept()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
        await File.WriteAllTextAsync(SocketPath, "precious");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => PluginServer.StartAsync(new PluginOptions { Socket = SocketPath }, new FakeVolumeDriver()));

        Assert.Contains("exists and is not a socket", error.Message, StringComparison.Ordinal);
        Assert.Equal("precious", await File.ReadAllTextAsync(SocketPath));
    }

    [Fact]
    public async Task Start_TwoPluginsSameSocket_SecondRefused()
    {
        await using var first = await PluginServer.StartAsync(new PluginOptions { Socket = SocketPath }, new FakeVolumeDriver());

        await Assert.ThrowsAsync<OptionsValidationException>(
            () => PluginServer.StartAsync(new PluginOptions { Socket = SocketPath }, new FakeVolumeDriver()));

        using var client = PluginServer.UnixClient(SocketPath);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Routes.Activate, null)).Status);
    }
}
