using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Cli;

/// <summary><c>volume ls</c>'s used and mountedWhere columns against a volume a real daemon ("host-a") mounted
/// through the fuse mapper and wrote to.</summary>
[Trait("Tier", "Cluster")]
public sealed class VolumeLsClusterTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-ls-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private PluginProcess? _daemon;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            using (var client = _daemon.Client())
            {
                try
                {
                    await client.UnmountAsync(_volume, "m1");
                }
                catch (Exception e) when (e is PluginErrorException or HttpRequestException)
                {
                }
            }

            await Task.Delay(500);
            await _daemon.DisposeAsync();
            await HostCleanup.ReleaseUnderAsync(_root);
        }

        await VolumeLeftovers.RemoveAsync(_volume);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Ls_MountedAndWritten_ShowsWhereAndUsedAsRbdDuDoes()
    {
        // Arrange: created idle: nothing allocated, not mounted
        var created = await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=256M");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var idle = await RowAsync();
        Assert.Equal(0UL, idle.GetProperty("usedBytes").GetUInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, idle.GetProperty("mountedWhere").ValueKind);

        // Act: the daemon mounts it, 16 MiB are written and flushed to the image
        _daemon = new PluginProcess(Path.Combine(_root, "a"), "host-a", "--unmount-grace", "200ms");
        await _daemon.StartAsync();
        using var client = _daemon.Client();
        var mountpoint = await client.MountAsync(_volume, "m1");
        await using (var file = new FileStream(Path.Combine(mountpoint, "data"), FileMode.CreateNew))
        {
            await file.WriteAsync(RandomBytes(16 << 20));
            file.Flush(flushToDisk: true);
        }

        var row = await RowAsync();

        // Assert: where it is mounted, and the allocation rbd du reports (both count whole objects from the object map)
        Assert.Equal($"host-a:{mountpoint}", row.GetProperty("mountedWhere").GetString());
        var used = row.GetProperty("usedBytes").GetUInt64();
        Assert.InRange(used, 16UL << 20, 256UL << 20);
        var du = (await CephCli.RunAsync("rbd", "du", "--format", "json", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd du").Json;
        Assert.Equal(du.GetProperty("images")[0].GetProperty("used_size").GetUInt64(), used);
        var text = await CliProcess.RunAsync("volume", "ls");
        Assert.Contains($"host-a:{mountpoint}", text.Stdout, StringComparison.Ordinal);
    }

    private async Task<System.Text.Json.JsonElement> RowAsync()
    {
        var ls = await CliProcess.RunAsync("volume", "ls", "--json");
        Assert.True(ls.ExitCode == 0, ls.Stderr);
        return ls.Json.EnumerateArray().Single(r => r.GetProperty("name").GetString() == _volume);
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
