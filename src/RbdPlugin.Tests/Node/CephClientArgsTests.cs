using Microsoft.Extensions.DependencyInjection;
using RbdPlugin.Hosting;
using RbdPlugin.Node;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Node;

/// <summary>
/// The plugin's tools run with Ceph directories of the plugin's own, whatever the host's ceph.conf names (a managed
/// plugin's rootfs has none of the host's run or log directories: rbd-fuse aborted with exit 134 there).
/// </summary>
[Trait("Tier", "Fast")]
public sealed class CephClientArgsTests
{
    private const string RunDir = "/var/lib/rbd-plugin/state/ceph-run";

    [Fact]
    public void ToArgs_WithRunDir_OverridesRunDirLogFileAndAdminSocket()
    {
        // Arrange
        var client = new CephClientArgs("/etc/ceph/ceph.conf", "docker", "/etc/ceph/ceph.client.docker.keyring", RunDir);

        // Act
        var args = client.ToArgs();

        // Assert
        Assert.Equal(["-c", "/etc/ceph/ceph.conf", "--id", "docker", "--keyring", "/etc/ceph/ceph.client.docker.keyring",
            "--run-dir=" + RunDir, "--log-file=", "--admin-socket="], args);
    }

    [Fact]
    public void ToArgs_WithoutRunDir_OnlyTheIdentity() =>
        Assert.Equal(["-c", "/c", "--id", "docker", "--keyring", "/k"], new CephClientArgs("/c", "docker", "/k").ToArgs());

    [Fact]
    public void ToCephArgsEnv_WithRunDir_SameOverridesAfterTheIdentity() =>
        Assert.Equal($"--id docker --keyring /k --run-dir={RunDir} --log-file= --admin-socket=",
            new CephClientArgs("/c", "docker", "/k", RunDir).ToCephArgsEnv());

    [Fact]
    public void ToCephArgsEnv_RunDirWithSpace_Refused() =>
        Assert.Throws<ArgumentException>(() => new CephClientArgs("/c", "docker", "/k", "/state dir/ceph-run").ToCephArgsEnv());

    [Fact]
    public void RbdFuseCephArgs_WithRunDir_KeepsTheCacheOffAndTheOwnDirectories()
    {
        // Act
        var env = FuseLayout.RbdFuseCephArgs(new CephClientArgs("/c", "docker", "/k", RunDir));

        // Assert: the environment outranks ceph.conf for every one of them
        Assert.Contains($"--run-dir={RunDir} --log-file= --admin-socket=", env, StringComparison.Ordinal);
        Assert.EndsWith("--rbd_cache=false", env, StringComparison.Ordinal);
    }

    [Fact]
    public void AddNode_DaemonsTools_RunWithStateDirCephRun()
    {
        // Arrange
        var settings = new VolumeSettings { Pool = "rbd", AllowedPools = ["rbd"], MountRoot = "/m", StateDir = "/var/lib/rbd-plugin/state", HostId = "h" };
        var raw = new PluginOptions { CephConf = "/etc/ceph/ceph.conf", CephId = "docker", Keyring = "/etc/ceph/k" };

        // Act
        using var services = new ServiceCollection().AddLogging().AddNode(raw, settings).BuildServiceProvider();

        // Assert
        Assert.Equal(RunDir, services.GetRequiredService<CephClientArgs>().RunDir);
    }
}
