using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// The same volume seen by two containers that Testcontainers (through Docker's API, not the CLI) starts one after
/// the other: what the first writes, the second reads, byte for byte.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class TestcontainersVolumeTests : IAsyncLifetime
{
    private readonly string _volume = DevCluster.NewName();

    public async Task InitializeAsync() =>
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", _volume)).EnsureSuccess();

    public async Task DisposeAsync()
    {
        await DockerCli.RunAsync("volume", "rm", "-f", _volume);
        await CephCli.RunAsync("rbd", "rm", $"{DevCluster.Pool}/{_volume}");
    }

    private IContainer NewContainer() => new ContainerBuilder()
        .WithImage(DockerCli.Image)
        .WithImagePullPolicy(_ => false) // no registry here: the image is built locally
        .WithVolumeMount(_volume, "/data")
        .WithCreateParameterModifier(p => p.HostConfig.NetworkMode = "none")
        .WithCommand("sleep", "120")
        .Build();

    [Fact]
    public async Task Volume_WrittenByOneContainer_ReadByTheNext()
    {
        string written;
        await using (var writer = NewContainer())
        {
            await writer.StartAsync();
            var write = await writer.ExecAsync(["sh", "-c", "dd if=/dev/urandom of=/data/blob bs=64k count=16 2>/dev/null && sync && sha256sum /data/blob"]);
            Assert.Equal(0, write.ExitCode);
            written = write.Stdout.Split(' ')[0];
        }

        await using var reader = NewContainer();
        await reader.StartAsync();
        var read = await reader.ExecAsync(["sha256sum", "/data/blob"]);

        Assert.Equal(0, read.ExitCode);
        Assert.Equal(written, read.Stdout.Split(' ')[0]);
        Assert.Equal(64, written.Length);
    }
}
