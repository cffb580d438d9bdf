using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

/// <summary>
/// rbd-fuse for real with a ceph.conf written for another machine: its <c>run dir</c> lies under a directory that
/// does not exist here, as the host's conf inside a managed plugin's rootfs does. With the plugin's own run dir the
/// image maps; without it rbd-fuse aborts (the reason the override exists).
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class CephClientArgsClusterTests : IAsyncLifetime
{
    private readonly NodeClusterScope _scope = new();

    public Task InitializeAsync() => _scope.InitializeAsync();

    public Task DisposeAsync() => _scope.DisposeAsync();

    /// <summary>A copy of the dev cluster's conf whose run and log directories are under a missing directory.</summary>
    private string ForeignConf()
    {
        var missing = Path.Combine(_scope.Root, "missing");
        var lines = File.ReadAllLines(_scope.Cluster.CephConf).Select(l =>
            l.StartsWith("run dir", StringComparison.Ordinal) ? $"run dir = {missing}/run"
            : l.StartsWith("log file", StringComparison.Ordinal) ? $"log file = {missing}/log/$cluster-$name.log"
            : l);
        var path = Path.Combine(_scope.Root, "foreign.conf");
        File.WriteAllLines(path, lines);
        return path;
    }

    private FuseLoopMapper MapperWith(CephClientArgs client) =>
        new(_scope.Runner, client, _scope.Mounts, new HostProbe(), _scope.StateDir, TimeProvider.System, NullLogger<FuseLoopMapper>.Instance);

    [Fact]
    public async Task MapAsync_ConfNamingMissingRunDir_WithOwnRunDir_Maps()
    {
        // Arrange
        var image = await _scope.CreateImageAsync("64M");
        Directory.CreateDirectory(_scope.StateDir);
        var runDir = Path.Combine(_scope.StateDir, "ceph-run");
        var mapper = MapperWith(new CephClientArgs(ForeignConf(), _scope.Cluster.CephId, _scope.Cluster.Keyring, runDir));

        // Act
        var device = await mapper.MapAsync(image, CancellationToken.None);

        // Assert: mapped; Ceph made the last level of the run dir itself, and left no admin socket in it
        Assert.StartsWith("/dev/loop", device.DevicePath, StringComparison.Ordinal);
        Assert.True(Directory.Exists(runDir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(runDir));
        Assert.False(Directory.Exists(Path.Combine(_scope.Root, "missing")));
        await mapper.UnmapAsync(device, CancellationToken.None);
    }

    [Fact]
    public async Task MapAsync_ConfNamingMissingRunDir_WithoutOwnRunDir_RbdFuseAborts()
    {
        // Arrange
        var image = await _scope.CreateImageAsync("64M");
        var mapper = MapperWith(new CephClientArgs(ForeignConf(), _scope.Cluster.CephId, _scope.Cluster.Keyring));

        // Act
        var failure = await Assert.ThrowsAsync<HostCommandException>(() => mapper.MapAsync(image, CancellationToken.None));

        // Assert: SIGABRT, as in the managed plugin before the override
        Assert.Equal(134, failure.ExitCode);
    }
}
