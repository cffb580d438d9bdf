using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Cli;

/// <summary><c>rbd-plugin volume limit</c> as an operator runs it, checked with the real rbd CLI on the image's
/// librbd settings (<c>rbd config image get</c>).</summary>
[Trait("Tier", "Cluster")]
public sealed class LimitCliClusterTests : IAsyncLifetime
{
    private readonly string _volume = DevCluster.NewName();

    private string Image => $"{DevCluster.Pool}/{_volume}";

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => VolumeLeftovers.RemoveAsync(_volume);

    [Fact]
    public async Task VolumeLimit_SetsThenRemovesTheImagesQosSetting()
    {
        (await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=64M")).EnsureSuccess("volume create");
        Assert.NotEqual(0, (await IopsSettingAsync()).ExitCode); // no limit at Create: librbd's default (none) applies

        var set = (await CliProcess.RunAsync("volume", "limit", _volume, "iops-limit=800", "--json")).EnsureSuccess("volume limit");
        Assert.True(set.Json.GetProperty("changed").GetBoolean(), set.Stdout);
        Assert.Equal("800", (await IopsSettingAsync()).EnsureSuccess("rbd config image get").Output);

        (await CliProcess.RunAsync("volume", "limit", _volume, "iops-limit=0")).EnsureSuccess("volume limit");
        var removed = await IopsSettingAsync();
        Assert.True(removed.ExitCode != 0, $"rbd_qos_iops_limit still set: {removed.Stdout}");
        var shown = (await CliProcess.RunAsync("volume", "limit", _volume, "--json")).EnsureSuccess("volume limit");
        Assert.Empty(shown.Json.GetProperty("limits").EnumerateObject());
    }

    // rbd config image get POOL/IMAGE rbd_qos_iops_limit: the value, or a non-zero exit when the image does not set it.
    private Task<ToolResult> IopsSettingAsync() => CephCli.RunAsync("rbd", "config", "image", "get", Image, "rbd_qos_iops_limit");
}
