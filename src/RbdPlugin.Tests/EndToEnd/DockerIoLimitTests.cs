using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// I/O limits as a Docker user sets them (<c>-o iops-limit=</c>, <c>-o write-bps-limit=</c>) through the real dockerd:
/// shown in <c>docker volume inspect</c>, present on the image as librbd's <c>rbd_qos_*</c> settings, and a bad value
/// refused before anything is made. And <c>-o encrypted=true</c> refused where the mapper cannot honour it.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class DockerIoLimitTests : IAsyncLifetime
{
    private readonly string _volume = DevCluster.NewName();

    private string Image => $"{DevCluster.Pool}/{_volume}";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await DockerCli.RunAsync("volume", "rm", "-f", _volume);
        await VolumeLeftovers.RemoveAsync(_volume);
    }

    [Fact]
    public async Task VolumeCreateWithLimits_InspectShowsThemAndTheImageCarriesThem()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", "-o", "iops-limit=500", "-o", "write-bps-limit=10M", _volume))
            .EnsureSuccess("docker volume create");

        var inspect = JsonDocument.Parse((await DockerCli.RunAsync("volume", "inspect", _volume)).EnsureSuccess().Stdout).RootElement[0];
        var limits = inspect.GetProperty("Status").GetProperty("limits");
        Assert.Equal(500, limits.GetProperty("iops-limit").GetInt64());
        Assert.Equal(10L << 20, limits.GetProperty("write-bps-limit").GetInt64());
        Assert.Equal("500", (await QosSettingAsync("rbd_qos_iops_limit")).EnsureSuccess("rbd config image get").Output);
        Assert.Equal((10L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            (await QosSettingAsync("rbd_qos_write_bps_limit")).EnsureSuccess("rbd config image get").Output);
        // The limit is a librbd setting of the image; a container still reads and writes through it.
        (await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "echo limited > /data/x && cat /data/x")).EnsureSuccess();
    }

    [Fact]
    public async Task VolumeCreateWithBadLimit_RefusedNamingTheOptionAndNothingMade()
    {
        var result = await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", "-o", "iops-limit=fast", _volume);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("invalid option iops-limit=fast", result.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", Image)).ExitCode);
        Assert.DoesNotContain(_volume, (await DockerCli.RunAsync("volume", "ls", "-q")).EnsureSuccess().Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VolumeCreateEncrypted_OnTheFuseMapper_RefusedNamingTheMappersThatCan_AndNothingMade()
    {
        // This engine's plugin maps with rbd-fuse (this machine's kernel has no rbd, nbd or dm-crypt): encrypted
        // volumes work on krbd and rbd-nbd (Kernel tier, KernelEncryptionTests) and are refused here.
        var result = await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", "-o", "encrypted=true", _volume);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("the fuse mapper cannot serve encrypted volumes", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("krbd or rbd-nbd", result.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", Image)).ExitCode);
        Assert.DoesNotContain(_volume, (await DockerCli.RunAsync("volume", "ls", "-q")).EnsureSuccess().Stdout, StringComparison.Ordinal);
    }

    // rbd config image get POOL/IMAGE KEY
    private Task<ToolResult> QosSettingAsync(string key) => CephCli.RunAsync("rbd", "config", "image", "get", Image, key);
}
