using System.Security.Cryptography;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Hosting;

/// <summary>
/// The real daemon process over its unix socket, against the real dev cluster, mapping through rbd-fuse + loop and
/// mounting real filesystems: the core lifecycle end to end, including a kill -9 between Mount and Unmount.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class DaemonClusterTests : IAsyncLifetime
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string IdB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-daemon-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private PluginProcess _plugin = null!;
    private PluginClient _client = null!;

    public async Task InitializeAsync()
    {
        _plugin = new PluginProcess(_root, "host-a", "--unmount-grace", "200ms");
        await _plugin.StartAsync();
        _client = _plugin.Client();
    }

    public async Task DisposeAsync()
    {
        // Leave nothing behind: unmount through the plugin when it still runs, then by hand, then remove the image.
        try
        {
            await _client.UnmountAsync(_volume, IdA);
            await _client.UnmountAsync(_volume, IdB);
            await WaitUntilAsync(() => !IsMounted(Mountpoint));
            await _client.RemoveAsync(_volume);
        }
        catch (Exception e) when (e is PluginErrorException or HttpRequestException or TimeoutException)
        {
        }

        _client.Dispose();
        await _plugin.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await CephCli.RunAsync("rbd", "rm", $"{DevCluster.Pool}/{_volume}");
        await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rm", $"rbd-plugin.lease.{_volume}");
        Directory.Delete(_root, recursive: true);
    }

    private string Mountpoint => Path.Combine(_plugin.MountRoot, _volume);

    private static bool IsMounted(string path) =>
        File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == path);

    private static async Task WaitUntilAsync(Func<bool> condition, int seconds = 15)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(seconds); !condition(); await Task.Delay(50))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not reached");
            }
        }
    }

    private int FormatCount => _plugin.Log.Count(l => l.Contains("\"@m\":\"Made ", StringComparison.Ordinal) && l.Contains(_volume, StringComparison.Ordinal));

    [Fact]
    public async Task CreateGetListRemove_RealImage()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "1G" });

        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd info").Json;
        Assert.Equal(1L << 30, info.GetProperty("size").GetInt64());
        var volume = await _client.GetAsync(_volume);
        Assert.NotNull(volume);
        var status = volume.Value.GetProperty("Status");
        Assert.Equal(1L << 30, status.GetProperty("sizeBytes").GetInt64());
        Assert.Equal("ext4", status.GetProperty("fstype").GetString());
        Assert.Equal(DevCluster.Pool, status.GetProperty("pool").GetString());
        Assert.EndsWith("Z", volume.Value.GetProperty("CreatedAt").GetString(), StringComparison.Ordinal);
        Assert.Contains(_volume, await _client.ListAsync());

        await _client.RemoveAsync(_volume);

        Assert.Null(await _client.GetAsync(_volume));
        Assert.DoesNotContain(_volume, await _client.ListAsync());
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{_volume}")).ExitCode);
    }

    [Fact]
    public async Task Mount_FormatsOnce_DataSurvivesRemount()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "1G" });
        var data = RandomNumberGenerator.GetBytes(1 << 20);

        var mountpoint = await _client.MountAsync(_volume, IdA);
        Assert.Equal(Mountpoint, mountpoint);
        Assert.True(IsMounted(mountpoint));
        await File.WriteAllBytesAsync(Path.Combine(mountpoint, "data.bin"), data);
        await _client.UnmountAsync(_volume, IdA);
        await WaitUntilAsync(() => !IsMounted(mountpoint));

        var again = await _client.MountAsync(_volume, IdB);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(again, "data.bin")));
        Assert.Equal(1, FormatCount);
    }

    [Fact]
    public async Task TwoIds_UnmountOfOne_KeepsTheOtherMounted()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "1G" });
        var a = await _client.MountAsync(_volume, IdA);
        var b = await _client.MountAsync(_volume, IdB);
        Assert.Equal(a, b);

        await _client.UnmountAsync(_volume, IdA);
        await Task.Delay(600); // well past the 200 ms grace

        Assert.True(IsMounted(a));
        await File.WriteAllTextAsync(Path.Combine(a, "still-writable"), "yes");
        await _client.UnmountAsync(_volume, IdB);
        await WaitUntilAsync(() => !IsMounted(a));
    }

    [Fact]
    public async Task Remove_WhileMounted_RefusedAndNothingChanges()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "1G" });
        await _client.MountAsync(_volume, IdA);

        var e = await Assert.ThrowsAsync<PluginErrorException>(() => _client.RemoveAsync(_volume));

        Assert.Contains("in use", e.Err, StringComparison.Ordinal);
        Assert.Contains("host-a", e.Err, StringComparison.Ordinal);
        Assert.True(IsMounted(Mountpoint));
        Assert.NotNull(await _client.GetAsync(_volume));
    }

    [Fact]
    public async Task KillDuringMount_RestartReconciles_UnmountStillWorks()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "1G" });
        var mountpoint = await _client.MountAsync(_volume, IdA);
        await File.WriteAllTextAsync(Path.Combine(mountpoint, "before-crash"), "kept");

        await _plugin.KillAsync();
        Assert.True(IsMounted(mountpoint)); // a crash of the plugin is not an unmount
        _client.Dispose();
        _plugin = new PluginProcess(_root, "host-a", "--unmount-grace", "200ms");
        await _plugin.StartAsync();
        _client = _plugin.Client();

        Assert.Contains(_plugin.Log, l => l.Contains("1 kept", StringComparison.Ordinal));
        var volume = await _client.GetAsync(_volume);
        Assert.Equal(mountpoint, volume!.Value.GetProperty(nameof(Mountpoint)).GetString());
        Assert.Equal("kept", await File.ReadAllTextAsync(Path.Combine(mountpoint, "before-crash")));
        await _client.UnmountAsync(_volume, IdA);
        await WaitUntilAsync(() => !IsMounted(mountpoint));
        await _client.RemoveAsync(_volume);
        Assert.Null(await _client.GetAsync(_volume));
    }

    [Fact]
    public async Task Create_BadOption_ClearErrAndNoImage()
    {
        var e = await Assert.ThrowsAsync<PluginErrorException>(() => _client.CreateAsync(_volume, new() { ["size"] = "10G", ["colour"] = "blue" }));

        Assert.Contains("unknown option 'colour'", e.Err, StringComparison.Ordinal);
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{_volume}")).ExitCode);
    }
}
