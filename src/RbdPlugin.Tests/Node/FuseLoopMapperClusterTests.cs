using Microsoft.Extensions.Logging.Abstractions;
using System.Text.Json;
using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

/// <summary>
/// The fuse mapper and the filesystem on the real kernel against the real dev cluster: rbd-fuse, loop devices,
/// blkid, mkfs, mount. Needs root, /dev/fuse and the cluster (see DevClusterEnv).
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class FuseLoopMapperClusterTests : IAsyncLifetime
{
    private readonly NodeClusterScope _scope = new();

    public Task InitializeAsync() => _scope.InitializeAsync();

    public Task DisposeAsync() => _scope.DisposeAsync();

    [Theory]
    [InlineData("ext4")]
    [InlineData("xfs")]
    public async Task FreshImage_MapMkfsMountWriteUnmapRemap_DataSurvivesAndEveryStepIsIdempotent(string fsType)
    {
        // Arrange
        var ct = CancellationToken.None;
        var image = await _scope.CreateImageAsync("1G");
        var mountpoint = Path.Combine(_scope.MountRoot, "vol");

        // Act + Assert: first mount of a brand-new image
        var device = await _scope.Mapper.MapAsync(image, ct);
        Assert.StartsWith("/dev/loop", device.DevicePath, StringComparison.Ordinal);
        Assert.Equal("fuse", device.Mapper);
        Assert.Null(await _scope.Fs.ProbeAsync(device.DevicePath, ct));
        await _scope.Fs.MakeAsync(device.DevicePath, fsType, [], ct);
        Assert.Equal(fsType, await _scope.Fs.ProbeAsync(device.DevicePath, ct));
        await _scope.Fs.MountAsync(device.DevicePath, mountpoint, fsType, [], ct);
        await _scope.Fs.MountAsync(device.DevicePath, mountpoint, fsType, [], ct); // idempotent
        Assert.Contains(_scope.Mounts.Read(), m => m.MountPoint == mountpoint && m.Source == device.DevicePath && m.FsType == fsType);
        await File.WriteAllTextAsync(Path.Combine(mountpoint, "hello.txt"), "written through rbd-fuse", ct);
        await _scope.Fs.UnmountAsync(mountpoint, ct);
        await _scope.Fs.UnmountAsync(mountpoint, ct); // idempotent
        await _scope.Mapper.UnmapAsync(device, ct);
        Assert.Empty(await _scope.Mapper.ListMappedAsync(ct));

        // Map again: the same data, and a second map while mapped returns the same device
        var again = await _scope.Mapper.MapAsync(image, ct);
        Assert.Equal(again, await _scope.Mapper.MapAsync(image, ct));
        Assert.Equal([again], await _scope.NewMapper().ListMappedAsync(ct));
        Assert.Equal(fsType, await _scope.Fs.ProbeAsync(again.DevicePath, ct));
        await _scope.Fs.MountAsync(again.DevicePath, mountpoint, fsType, [], ct);
        Assert.Equal("written through rbd-fuse", await File.ReadAllTextAsync(Path.Combine(mountpoint, "hello.txt"), ct));
        await _scope.Fs.UnmountAsync(mountpoint, ct);
        await _scope.Mapper.UnmapAsync(again, ct);
        await _scope.Mapper.UnmapAsync(again, ct); // idempotent

        // Nothing left: no loop device, no fuse mount, no directory, and the image is closed (no watchers)
        Assert.Empty(await _scope.Mapper.ListMappedAsync(ct));
        Assert.False(Directory.Exists(again.Detail));
        Assert.Empty(Watchers(await _scope.Rbd.StatusJsonAsync(image)));
    }

    [Fact]
    public async Task UnmapAsync_Returns_OnlyAfterRbdFuseEndedAndTheImageIsClosed()
    {
        // Arrange: a mapped image; its rbd-fuse process is found by its command line
        var ct = CancellationToken.None;
        var image = await _scope.CreateImageAsync("1G");
        var device = await _scope.Mapper.MapAsync(image, ct);
        var host = new HostProbe();
        var dir = Assert.IsType<string>(device.Detail);
        var servers = host.FindProcesses("rbd-fuse", dir);
        Assert.Single(servers);
        Assert.True(host.IsRunning(servers[0]));

        // Act
        await _scope.Mapper.UnmapAsync(device, ct);

        // Assert: at once, no rbd-fuse for it and no watcher on the image (a Remove right now would not be refused)
        Assert.False(host.IsRunning(servers[0]));
        Assert.Empty(host.FindProcesses("rbd-fuse", dir));
        Assert.Empty(Watchers(await _scope.Rbd.StatusJsonAsync(image)));
    }

    [Fact]
    public async Task MapAsync_ImageInANamespace_IsMappedInsideThatNamespace()
    {
        var ct = CancellationToken.None;
        var ns = "node-test-ns-" + Guid.NewGuid().ToString("N")[..6];
        await _scope.CreateNamespaceAsync(ns);
        var image = await _scope.CreateImageAsync("64M", ns);

        var device = await _scope.Mapper.MapAsync(image, ct);

        Assert.Equal(image, device.Image);
        Assert.Null(await _scope.Fs.ProbeAsync(device.DevicePath, ct));
        Assert.Equal([device], await _scope.Mapper.ListMappedAsync(ct));
        await _scope.Mapper.UnmapAsync(device, ct);
        Assert.Empty(await _scope.Mapper.ListMappedAsync(ct));
    }

    [Fact]
    public async Task MapAsync_ImageDoesNotExist_FailsAndLeavesNothingBehind()
    {
        var image = new ImageRef(_scope.Cluster.Pool, "", "node-test-missing-" + Guid.NewGuid().ToString("N")[..8]);
        var mapper = new FuseLoopMapper(_scope.Runner, _scope.Cluster.Client, _scope.Mounts, new HostProbe(), _scope.StateDir, TimeProvider.System,
            NullLogger<FuseLoopMapper>.Instance)
        {
            ImageVisibleTimeout = TimeSpan.FromSeconds(1),
        };

        var e = await Assert.ThrowsAsync<HostCommandException>(() => mapper.MapAsync(image, CancellationToken.None));

        Assert.Contains("does the image exist", e.Message, StringComparison.Ordinal);
        Assert.Empty(await mapper.ListMappedAsync(CancellationToken.None));
        Assert.False(Directory.Exists(mapper.FuseDir(image)));
    }

    [Fact]
    public async Task UnmapAsync_WhileTheFilesystemIsMounted_RefusesAndKeepsTheMapping()
    {
        var ct = CancellationToken.None;
        var image = await _scope.CreateImageAsync("256M");
        var device = await _scope.Mapper.MapAsync(image, ct);
        await _scope.Fs.MakeAsync(device.DevicePath, "ext4", [], ct);
        var mountpoint = Path.Combine(_scope.MountRoot, "busy");
        await _scope.Fs.MountAsync(device.DevicePath, mountpoint, "ext4", [], ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => _scope.Mapper.UnmapAsync(device, ct));

        Assert.Equal([device], await _scope.Mapper.ListMappedAsync(ct));
    }

    [Fact]
    public async Task ProbeAsync_DeviceWithAPartitionTable_IsNotEmptyAndMkfsRefusesIt()
    {
        var ct = CancellationToken.None;
        var loop = await _scope.LoopOverFileAsync(DosPartitionTable(sizeBytes: 8 << 20));

        Assert.Equal("dos", await _scope.Fs.ProbeAsync(loop, ct));
        // Even a caller that skipped the probe cannot format it (mke2fs alone would: it does not ask without a tty).
        await Assert.ThrowsAsync<DeviceNotBlankException>(() => _scope.Fs.MakeAsync(loop, "ext4", [], ct));
        await Assert.ThrowsAsync<DeviceNotBlankException>(() => _scope.Fs.MakeAsync(loop, "xfs", [], ct));
        Assert.Equal("dos", await _scope.Fs.ProbeAsync(loop, ct));
    }

    [Fact]
    public async Task ProbeAsync_MissingDevice_ThrowsRatherThanCallingItEmpty() =>
        await Assert.ThrowsAsync<HostCommandException>(() => _scope.Fs.ProbeAsync("/dev/loop-does-not-exist", CancellationToken.None));

    /// <summary>An MBR with one Linux partition from sector 2048 to the end, as fdisk would write it.</summary>
    private static byte[] DosPartitionTable(int sizeBytes)
    {
        var disk = new byte[sizeBytes];
        BitConverter.TryWriteBytes(disk.AsSpan(440), 0x5EEDF00Du);  // disk signature (PTUUID)
        var entry = disk.AsSpan(446, 16);
        entry[4] = 0x83;                                             // type: Linux
        BitConverter.TryWriteBytes(entry[8..], 2048u);               // first LBA
        BitConverter.TryWriteBytes(entry[12..], (uint)(sizeBytes / 512 - 2048)); // sectors
        disk[510] = 0x55;
        disk[511] = 0xAA;
        return disk;
    }

    private static IReadOnlyList<JsonElement> Watchers(string statusJson)
    {
        using var doc = JsonDocument.Parse(statusJson);
        return doc.RootElement.TryGetProperty("watchers", out var w) ? [.. w.EnumerateArray().Select(e => e.Clone())] : [];
    }
}
