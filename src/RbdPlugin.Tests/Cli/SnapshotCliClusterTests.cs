using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.Cli;

/// <summary>
/// Snapshots, clones and resize as an operator runs them: the real CLI next to a real daemon ("host-a") that has the
/// volume mounted through rbd-fuse + loop, so the freeze, the online grow and the grow at mount run for real.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class SnapshotCliClusterTests : IAsyncLifetime
{
    private const string Host = "host-a";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-snap-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly string _clone = DevCluster.NewName();
    private readonly ITestOutputHelper _output;
    private PluginProcess _daemon = null!;
    private PluginClient _client = null!;

    public SnapshotCliClusterTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync()
    {
        _daemon = new PluginProcess(Path.Combine(_root, "a"), Host, "--unmount-grace", "200ms", "--lease-duration", "6s", "--ceph-timeout", "2s");
        await _daemon.StartAsync();
        _client = _daemon.Client();
    }

    public async Task DisposeAsync()
    {
        foreach (var name in new[] { _clone, _volume })
        {
            try
            {
                await _client.UnmountAsync(name, "m1");
            }
            catch (Exception e) when (e is PluginErrorException or HttpRequestException)
            {
            }
        }

        await Task.Delay(700); // the unmount grace
        _client.Dispose();
        await _daemon.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await VolumeLeftovers.RemoveAsync(_clone, _volume);

        Directory.Delete(_root, recursive: true);
    }

    /// <summary>The CLI as run on host-a, finding host-a's daemon through its state dir.</summary>
    private Task<ToolResult> CliAsync(params string[] args) =>
        CliProcess.RunAsync([.. args, "--host-id", Host, "--state-dir", _daemon.StateDir]);

    private static void AssertOk(ToolResult result) => Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(20); !condition(); await Task.Delay(50))
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
        }
    }

    private static bool IsMounted(string path) => File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == path);

    /// <summary>64 KiB that only file number <paramref name="i"/> has.</summary>
    private static byte[] Content(int i)
    {
        var bytes = new byte[64 << 10];
        new Random(i).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Every file of the tree and its SHA-256, by relative path.</summary>
    private static Dictionary<string, string> Manifest(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/lost+found/", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public async Task Snapshot_OfAMountedVolumeUnderWrites_IsConsistent_CloneHasItsBytes_RollbackRestoresThemExactly()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "256M" });
        var mountpoint = await _client.MountAsync(_volume, "m1");
        var data = Directory.CreateDirectory(Path.Combine(mountpoint, "data")).FullName;

        // A writer that never stops during the snapshot: each file written in one write(2), fsynced, then renamed
        // into place, so in a consistent snapshot every f-NNNN is complete.
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var tmp = Path.Combine(data, $"tmp-{i:D5}");
                using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
                {
                    file.Write(Content(i));
                    file.Flush(flushToDisk: true);
                }

                File.Move(tmp, Path.Combine(data, $"f-{i:D5}"));
                Volatile.Write(ref written, i + 1);
            }
        });
        await WaitUntilAsync(() => Volatile.Read(ref written) >= 20, "the writer wrote 20 files");

        // Snapshot while it writes: host-a's daemon freezes the filesystem around it.
        var before = Volatile.Read(ref written);
        var clock = Stopwatch.StartNew();
        var snap = await CliAsync("snapshot", "create", _volume, "s1", "--json");
        var snapshotTime = clock.Elapsed;
        AssertOk(snap);
        var taken = snap.Json;
        Assert.True(taken.GetProperty("created").GetBoolean());
        Assert.True(taken.GetProperty("frozen").GetBoolean());
        Assert.Equal(Host, taken.GetProperty("host").GetString());
        await WaitUntilAsync(() => Volatile.Read(ref written) > before + 20, "the writer went on after the thaw");
        _output.WriteLine($"snapshot of a mounted volume: {snapshotTime.TotalMilliseconds:0} ms (CLI process included), frozen {taken.GetProperty("freezeMs")} ms");

        // Idempotent: the same name again is reported, not retaken.
        var again = await CliAsync("snapshot", "create", _volume, "s1", "--json");
        AssertOk(again);
        Assert.False(again.Json.GetProperty("created").GetBoolean());

        // Rollback is refused while the volume is mounted, and changes nothing.
        var refused = await CliAsync("snapshot", "rollback", _volume, "s1");
        Assert.Equal(5, refused.ExitCode);
        Assert.Contains($"mounted on host {Host}", refused.Stderr, StringComparison.Ordinal);

        // The clone has the snapshot's exact bytes.
        clock.Restart();
        var clone = await CliAsync("volume", "clone", $"{_volume}@s1", _clone, "--json");
        var cloneTime = clock.Elapsed;
        AssertOk(clone);
        _output.WriteLine($"clone: {cloneTime.TotalMilliseconds:0} ms (CLI process included)");
        var atSnapshot = await RbdExport.ChecksumAsync($"{DevCluster.Pool}/{_volume}@s1");
        Assert.Equal(atSnapshot, await RbdExport.ChecksumAsync($"{DevCluster.Pool}/{_clone}"));

        // ... and it mounts as an ordinary volume, without mkfs, holding a consistent filesystem: every file the
        // snapshot has is complete, and they are the first N written, with no gap.
        var cloneMount = await _client.MountAsync(_clone, "m1");
        var files = Directory.GetFiles(Path.Combine(cloneMount, "data"), "f-*").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= before, $"the snapshot has {files.Count} files, {before} were written before it");
        for (var i = 0; i < files.Count; i++)
        {
            Assert.Equal($"f-{i:D5}", files[i]);
            Assert.Equal(Content(i), await File.ReadAllBytesAsync(Path.Combine(cloneMount, "data", files[i]!)));
        }

        Assert.DoesNotContain(_daemon.Log, l => l.Contains("\"@m\":\"Made ", StringComparison.Ordinal) && l.Contains(_clone, StringComparison.Ordinal));
        var cloneManifest = Manifest(cloneMount);
        await _client.UnmountAsync(_clone, "m1");

        // Stop writing, unmount, roll back: the volume has the snapshot's bytes again, block for block.
        await stop.CancelAsync();
        await writer;
        Assert.True(Volatile.Read(ref written) > files.Count);
        await _client.UnmountAsync(_volume, "m1");
        await WaitUntilAsync(() => !IsMounted(mountpoint), "the volume is unmounted");
        await WaitUntilAsync(() => !IsMounted(cloneMount), "the clone is unmounted");
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(200))
        {
            var rollback = await CliAsync("snapshot", "rollback", _volume, "s1", "--json");
            if (rollback.ExitCode == 0)
            {
                break;
            }

            // The lease goes a moment after the unmount.
            Assert.True(rollback.ExitCode == 5 && DateTime.UtcNow < deadline,
                $"{rollback.Stderr}\ndaemon log (last 40 lines):\n{string.Join('\n', _daemon.Log.TakeLast(40))}");
        }

        Assert.Equal(atSnapshot, await RbdExport.ChecksumAsync($"{DevCluster.Pool}/{_volume}"));
        var remounted = await _client.MountAsync(_volume, "m1");
        Assert.Equal(cloneManifest, Manifest(remounted));

        // ls and rm
        var ls = await CliAsync("snapshot", "ls", _volume, "--json");
        AssertOk(ls);
        Assert.Equal(["s1"], ls.Json.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        AssertOk(await CliAsync("snapshot", "rm", _volume, "s1"));
        var rmAgain = await CliAsync("snapshot", "rm", _volume, "s1", "--json");
        AssertOk(rmAgain);
        Assert.False(rmAgain.Json.GetProperty("removed").GetBoolean());
    }

    [Fact]
    public async Task Resize_MountedHere_GrowsTheFilesystemOnline_ShrinkRefused()
    {
        // xfs: growing a mounted ext4 needs CAP_SYS_RESOURCE, which the containers running these tests lack.
        await _client.CreateAsync(_volume, new() { ["size"] = "320M", ["fstype"] = "xfs" });
        var mountpoint = await _client.MountAsync(_volume, "m1");
        var before = new DriveInfo(mountpoint).TotalSize;

        var clock = Stopwatch.StartNew();
        var resize = await CliAsync("volume", "resize", _volume, "512M", "--json");
        _output.WriteLine($"resize of a mounted volume: {clock.Elapsed.TotalMilliseconds:0} ms (CLI process included)");

        AssertOk(resize);
        Assert.Equal("grown", resize.Json.GetProperty("filesystem").GetString());
        Assert.Equal(512L << 20, resize.Json.GetProperty("sizeBytes").GetInt64());
        var after = new DriveInfo(mountpoint).TotalSize;
        Assert.True(after > before + (150L << 20), $"df size {before} -> {after}");
        Assert.Equal(512L << 20, (await CliProcess.RunAsync("volume", "ls", "--json")).Json.EnumerateArray()
            .Single(r => r.GetProperty("name").GetString() == _volume).GetProperty("sizeBytes").GetInt64());

        // Shrinking is refused (usage: exit 2) and changes nothing.
        var shrink = await CliAsync("volume", "resize", _volume, "320M");
        Assert.Equal(2, shrink.ExitCode);
        Assert.Contains("shrinking", shrink.Stderr, StringComparison.Ordinal);
        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd info").Json;
        Assert.Equal(512L << 20, info.GetProperty("size").GetInt64());
        Assert.Equal(after, new DriveInfo(mountpoint).TotalSize);
    }

    [Fact]
    public async Task Resize_MountedExt4WithoutCapSysResource_SaysWhatIsMissingAndTheNextMountGrowsIt()
    {
        // A daemon without CAP_SYS_RESOURCE (dropped from its bounding set, whatever this machine grants): the kernel
        // refuses its online ext4 grow with EPERM, for real.
        await using var daemon = new PluginProcess(Path.Combine(_root, "nocap"), "host-nocap", "--unmount-grace", "200ms", "--lease-duration", "6s",
            "--ceph-timeout", "2s") { Launcher = ["setpriv", "--bounding-set", "-sys_resource", "--"] };
        await daemon.StartAsync();
        using var client = daemon.Client();
        await client.CreateAsync(_volume, new() { ["size"] = "64M" });
        var mountpoint = await client.MountAsync(_volume, "m1"); // mkfs.ext4
        var before = new DriveInfo(mountpoint).TotalSize;

        var resize = await CliProcess.RunAsync("volume", "resize", _volume, "256M", "--host-id", "host-nocap", "--state-dir", daemon.StateDir);

        Assert.NotEqual(0, resize.ExitCode);
        Assert.Contains("needs the CAP_SYS_RESOURCE capability, which the rbd-plugin daemon does not have", resize.Stderr, StringComparison.Ordinal);
        Assert.Contains("are 256 MiB now, but the filesystem is still 64 MiB", resize.Stderr, StringComparison.Ordinal);
        Assert.Contains("the next mount of the volume grows it", resize.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, new DriveInfo(mountpoint).TotalSize);

        // The next mount grows it, offline before mounting, with no capability needed.
        await client.UnmountAsync(_volume, "m1");
        await WaitUntilAsync(() => !IsMounted(mountpoint), "the volume is unmounted");
        mountpoint = await client.MountAsync(_volume, "m2");
        var after = new DriveInfo(mountpoint).TotalSize;
        await client.UnmountAsync(_volume, "m2");
        await WaitUntilAsync(() => !IsMounted(mountpoint), "the volume is unmounted");
        Assert.True(after > before + (150L << 20), $"df size {before} -> {after}");
    }

    [Fact]
    public async Task Resize_Unmounted_GrowsAtTheNextMount()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "320M", ["fstype"] = "xfs" });
        var mountpoint = await _client.MountAsync(_volume, "m1"); // mkfs
        var before = new DriveInfo(mountpoint).TotalSize;
        await _client.UnmountAsync(_volume, "m1");
        await WaitUntilAsync(() => !IsMounted(mountpoint), "the volume is unmounted");
        for (var deadline = DateTime.UtcNow.AddSeconds(10); (await CliProcess.RunAsync("volume", "inspect", _volume, "--json")).Json
                 .GetProperty("status").GetProperty("lease").GetString() != "none"; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the lease was not released");
        }

        var resize = await CliAsync("volume", "resize", _volume, "768M", "--json");

        AssertOk(resize);
        Assert.Equal("at-next-mount", resize.Json.GetProperty("filesystem").GetString());
        Assert.Equal(JsonValueKind.Null, resize.Json.GetProperty("host").ValueKind);
        await _client.MountAsync(_volume, "m1");
        var after = new DriveInfo(mountpoint).TotalSize;
        Assert.True(after > before + (400L << 20), $"df size {before} -> {after}");
    }

    [Fact]
    public async Task Snapshot_OfAVolumeMountedOnAnotherHost_RefusedNamingIt_CloneOfAMissingSnapshot_NotFound()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "256M" });
        await _client.MountAsync(_volume, "m1");

        // Run as host-b: the owner is host-a, whose filesystem only host-a can freeze.
        var elsewhere = await CliProcess.RunAsync("snapshot", "create", _volume, "s1", "--host-id", "host-b", "--state-dir", Path.Combine(_root, "b"));

        Assert.Equal(5, elsewhere.ExitCode);
        Assert.Contains($"mounted on host {Host}", elsewhere.Stderr, StringComparison.Ordinal);
        Assert.Contains("on that host", elsewhere.Stderr, StringComparison.Ordinal);
        Assert.Empty((await CliAsync("snapshot", "ls", _volume, "--json")).Json.EnumerateArray());

        var missing = await CliAsync("volume", "clone", $"{_volume}@nope", _clone);
        Assert.Equal(4, missing.ExitCode);
        Assert.Contains("has no snapshot nope", missing.Stderr, StringComparison.Ordinal);
        var badName = await CliAsync("snapshot", "create", _volume, "bad@name");
        Assert.Equal(2, badName.ExitCode);
        Assert.Contains("invalid snapshot name", badName.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backup_OfAVolumeMountedHere_IsFrozenByTheDaemon_FromAnotherHost_CrashConsistentWithAWarning()
    {
        await _client.CreateAsync(_volume, new() { ["size"] = "64M" });
        await _client.MountAsync(_volume, "m1");
        var dir = Directory.CreateDirectory(Path.Combine(_root, "backups")).FullName;
        var frozenBefore = _daemon.Log.Count(l => l.Contains("was frozen for", StringComparison.Ordinal));

        var here = await CliAsync("backup", "create", _volume, dir, "--json");

        AssertOk(here);
        Assert.Equal(JsonValueKind.Null, here.Json.GetProperty("warning").ValueKind);
        Assert.True(_daemon.Log.Count(l => l.Contains("was frozen for", StringComparison.Ordinal)) > frozenBefore,
            "the owning daemon should have frozen the filesystem around the backup's snapshot");

        var elsewhere = await CliProcess.RunAsync("backup", "create", _volume, dir, "--json", "--host-id", "host-b", "--state-dir", Path.Combine(_root, "b"));

        Assert.True(elsewhere.ExitCode == 0, $"exit {elsewhere.ExitCode}: {elsewhere.Stderr}");
        var warning = elsewhere.Json.GetProperty("warning").GetString()!;
        Assert.Contains("crash-consistent", warning, StringComparison.Ordinal);
        Assert.Contains($"mounted on host {Host}", warning, StringComparison.Ordinal);
        Assert.Equal("incremental", elsewhere.Json.GetProperty("kind").GetString());
    }
}
