using RbdPlugin.Hosting;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Protocol;

/// <summary>One plugin on a temporary unix socket, shared by a test class; the driver is reset per test.</summary>
public sealed class UnixSocketPluginFixture : IAsyncLifetime
{
    private DirectoryInfo? directory;

    internal FakeVolumeDriver Driver { get; } = new();

    internal PluginServer Server { get; private set; } = null!;

    internal HttpClient Client { get; private set; } = null!;

    internal string SocketPath { get; private set; } = "";

    public async Task InitializeAsync()
    {
        directory = Directory.CreateTempSubdirectory("rbdp-");
        SocketPath = Path.Combine(directory.FullName, "plugins", "rbd.sock");
        Server = await PluginServer.StartAsync(new PluginOptions { Socket = SocketPath }, Driver);
        Client = PluginServer.UnixClient(SocketPath);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        directory?.Delete(recursive: true);
    }
}
