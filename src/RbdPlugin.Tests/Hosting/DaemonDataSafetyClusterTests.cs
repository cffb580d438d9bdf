using System.Text;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Hosting;

/// <summary>
/// The real daemon, the dev cluster, rbd-fuse + loop and real filesystems, for the two ways a volume's data could be
/// lost or its writers hung after the fact (issue 11 §5): a filesystem wiped behind the plugin's back must never be
/// formatted again, and a kill -9 between fsfreeze and thaw must not leave the filesystem frozen.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class DaemonDataSafetyClusterTests : IAsyncLifetime
{
    private const string Id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static readonly TimeSpan WriteBound = TimeSpan.FromSeconds(15);
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-safety-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private PluginProcess _plugin = null!;
    private PluginClient _client = null!;

    private string Image => $"{DevCluster.Pool}/{_volume}";

    private string Mountpoint => Path.Combine(_plugin.MountRoot, _volume);

    public async Task InitializeAsync() => await StartDaemonAsync();

    public async Task DisposeAsync()
    {
        await ToolProcess.RunAsync("fsfreeze", ["--unfreeze", Mountpoint]); // whatever the test left, never a frozen filesystem
        try
        {
            await _client.UnmountAsync(_volume, Id);
        }
        catch (Exception e) when (e is PluginErrorException or HttpRequestException)
        {
        }

        await Task.Delay(700); // the unmount grace
        _client.Dispose();
        await _plugin.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await VolumeLeftovers.RemoveAsync(_volume);
        Directory.Delete(_root, recursive: true);
    }

    private async Task StartDaemonAsync()
    {
        _plugin = new PluginProcess(_root, "host-a", "--unmount-grace", "200ms");
        await _plugin.StartAsync();
        _client = _plugin.Client();
    }

    private int FormatCount => _plugin.Log.Count(l => l.Contains("\"@m\":\"Made ", StringComparison.Ordinal) && l.Contains(_volume, StringComparison.Ordinal));

    private static bool IsMounted(string path) => File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == path);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !await condition(); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
        }
    }

    /// <summary>An `rbd import-diff` stream that writes <paramref name="length"/> zero bytes at offset 0 and nothing else.</summary>
    private static byte[] ZeroingDiff(int length)
    {
        using var diff = new MemoryStream();
        diff.Write(Encoding.ASCII.GetBytes("rbd diff v1\n"));
        diff.WriteByte((byte)'w');
        diff.Write(BitConverter.GetBytes(0UL));
        diff.Write(BitConverter.GetBytes((ulong)length));
        diff.Write(new byte[length]);
        diff.WriteByte((byte)'e');
        return diff.ToArray();
    }

    [Fact]
    public async Task Mount_FormattedImageWipedBehindOurBack_RefusedAndNothingFormatted()
    {
        // Arrange: a volume formatted and used once, marked, then released.
        await _client.CreateAsync(_volume, new() { ["size"] = "256M" });
        var mountpoint = await _client.MountAsync(_volume, Id);
        await File.WriteAllTextAsync(Path.Combine(mountpoint, "precious"), "data");
        await _client.UnmountAsync(_volume, Id);
        await WaitUntilAsync(async () => !IsMounted(mountpoint)
            && (await CephCli.RunAsync("rbd", "status", "--format", "json", Image)).Json.GetProperty("watchers").GetArrayLength() == 0, "the volume was released");
        var mark = await CephCli.RunAsync("rbd", "image-meta", "get", Image, "rbd-plugin.formatted");
        Assert.Contains("\"fsType\":\"ext4\"", mark.Stdout, StringComparison.Ordinal);

        // ... its first 4 MiB zeroed outside the plugin: the ext4 superblock is gone, blkid finds nothing, and the
        // head reads as zeros. Only the mark says there was a filesystem.
        var diff = Path.Combine(_root, "wipe.diff");
        await File.WriteAllBytesAsync(diff, ZeroingDiff(4 << 20));
        (await CephCli.RunAsync("rbd", "import-diff", "--no-progress", diff, Image)).EnsureSuccess("rbd import-diff");
        var before = await RbdExport.ChecksumAsync(Image);

        // Act
        var e = await Assert.ThrowsAsync<PluginErrorException>(() => _client.MountAsync(_volume, Id));

        // Assert
        Assert.Contains("seems gone or unreadable", e.Err, StringComparison.Ordinal);
        Assert.Contains("nothing was formatted", e.Err, StringComparison.Ordinal);
        Assert.False(IsMounted(mountpoint));
        Assert.Equal(1, FormatCount);
        Assert.Equal(before, await RbdExport.ChecksumAsync(Image)); // not a byte written
    }

    [Fact]
    public async Task Restart_AfterKillBetweenFreezeAndThaw_ReconcileThawsAndAWriteCompletes()
    {
        // Arrange: a mounted volume frozen as a snapshot would freeze it, and the daemon killed before its thaw.
        await _client.CreateAsync(_volume, new() { ["size"] = "256M" });
        var mountpoint = await _client.MountAsync(_volume, Id);
        (await ToolProcess.RunAsync("fsfreeze", ["--freeze", mountpoint])).EnsureSuccess("fsfreeze --freeze");
        await _plugin.KillAsync();
        _client.Dispose();

        // Act
        await StartDaemonAsync(); // serves only after its reconcile

        // Assert: a write through the filesystem, fsynced, completes within the bound (in its own process: a write to
        // a frozen filesystem blocks in the kernel, uninterruptibly, until the thaw).
        var write = ToolProcess.RunAsync("dd", ["if=/dev/zero", $"of={Path.Combine(mountpoint, "after-restart")}", "bs=4k", "count=1", "conv=fsync"], WriteBound);
        try
        {
            (await write).EnsureSuccess("dd");
        }
        catch (TimeoutException)
        {
            await ToolProcess.RunAsync("fsfreeze", ["--unfreeze", mountpoint]); // let the hung writer finish
            Assert.Fail($"a write to {mountpoint} did not complete within {WriteBound.TotalSeconds:0} s after the restart: the filesystem stayed frozen");
        }

        Assert.True(IsMounted(mountpoint));
        Assert.Equal(4096, new FileInfo(Path.Combine(mountpoint, "after-restart")).Length);
    }
}
