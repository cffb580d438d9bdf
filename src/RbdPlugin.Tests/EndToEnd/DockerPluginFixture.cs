using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// The plugin daemon where Docker looks for the driver "rbd" (/run/docker/plugins/rbd.sock), for the Docker tier.
/// Its state and mounts live in a temp directory; everything is released at the end.
/// </summary>
public sealed class DockerPluginFixture : IAsyncLifetime
{
    public const string SocketPath = "/run/docker/plugins/rbd.sock";

    public string Root { get; } = Directory.CreateTempSubdirectory("rbd-plugin-docker-").FullName;

    internal PluginProcess Plugin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (await DockerCli.RunAsync("image", "inspect", DockerCli.Image)).EnsureSuccess();
        Plugin = new PluginProcess(Root, "host-docker", "--unmount-grace", "500ms") { Socket = SocketPath };
        await Plugin.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Plugin.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(Root);
        File.Delete(SocketPath);
        Directory.Delete(Root, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class DockerPluginGroup : ICollectionFixture<DockerPluginFixture>
{
    public const string Name = "Docker engine with the rbd plugin";
}
