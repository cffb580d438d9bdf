using System.Diagnostics;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd.MultiHost;

/// <summary>
/// Hosts that freeze or die rather than exit cleanly, with two real daemons (fuse mapper) as two hosts on the dev
/// cluster. A frozen host's writer (its rbd-fuse) keeps running but its watch on the image times out on the OSD, so
/// only the writer the lease record names can fence it: when it wakes up after the takeover, it must not write.
/// And a write the owner's fsync acknowledged survives the owner's death and is there after the takeover.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class FrozenHostClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string IdB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const int SizeMiB = 256;
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(6);
    private static readonly string[] HostArgs = ["--unmount-grace", "200ms", "--lease-duration", "6s", "--ceph-timeout", "2s", "--lease-wait", "1s"];

    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-frozen-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly List<int> _stopped = [];
    private PluginProcess _a = null!;
    private PluginProcess _b = null!;
    private PluginClient _clientA = null!;
    private PluginClient _clientB = null!;

    public async Task InitializeAsync()
    {
        _a = new PluginProcess(Path.Combine(_root, "a"), "host-a", HostArgs);
        _b = new PluginProcess(Path.Combine(_root, "b"), "host-b", HostArgs);
        await Task.WhenAll(_a.StartAsync(), _b.StartAsync());
        _clientA = _a.Client();
        _clientB = _b.Client();
    }

    public async Task DisposeAsync()
    {
        foreach (var pid in _stopped)
        {
            await ToolProcess.RunAsync("kill", ["-CONT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        try
        {
            await _clientA.UnmountAsync(_volume, IdA);
        }
        catch (Exception e) when (e is PluginErrorException or HttpRequestException)
        {
        }

        await Task.Delay(800);
        _clientA.Dispose();
        _clientB.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await VolumeLeftovers.RemoveAsync(_volume);
        await UnfenceAsync("host-a");
        await UnfenceAsync("host-b");
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("layering")]
    [InlineData(null)]
    public async Task FrozenOwner_WakesAfterATakeover_ItsWriterCannotWriteTheImage(string? features)
    {
        // Arrange: host-b has the volume mounted and written
        await _clientB.CreateAsync(_volume, features is null ? new() { ["size"] = $"{SizeMiB}M" } : new() { ["size"] = $"{SizeMiB}M", ["features"] = features });
        var onB = await _clientB.MountAsync(_volume, IdB);
        await File.WriteAllTextAsync(Path.Combine(onB, "from-b"), "b");
        var fuseB = Assert.Single(HostCleanup.FuseProcessesUnder(_b.StateDir + "/"));
        var fuseFileB = FuseFileOf(fuseB);
        var recordedWriters = await LeaseWritersAsync();
        Assert.Single(recordedWriters);

        // Act 1: host-b freezes, daemon and rbd-fuse alike, for longer than its lease and its writer's watch
        await StopAsync(_b.Pid!.Value);
        await StopAsync(fuseB);
        var clock = Stopwatch.StartNew();
        await WaitUntilAsync(async () => (await WatchersAsync()).Count == 0, TimeSpan.FromSeconds(90), "the frozen writer's watch never timed out");
        output.WriteLine($"the frozen rbd-fuse's watch timed out after {clock.Elapsed.TotalSeconds:0} s");

        // Act 2: host-a takes the volume over (the lease has lapsed by now), then only host-b's rbd-fuse wakes up
        var onA = await MountWhenLapsedAsync();
        await File.WriteAllTextAsync(Path.Combine(onA, "from-a"), "a");
        await ToolProcess.RunAsync("kill", ["-CONT", fuseB.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        _stopped.Remove(fuseB);
        var pattern = Path.Combine(_root, "pattern");
        await File.WriteAllBytesAsync(pattern, Enumerable.Repeat((byte)0xB5, 4096).ToArray());
        var lastBlock = (SizeMiB * 256 - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var write = await TryRunAsync("dd", [$"if={pattern}", $"of={fuseFileB}", "bs=4096", "count=1", $"seek={lastBlock}", "oflag=direct", "conv=notrunc,fsync"]);
        output.WriteLine($"host-b's rbd-fuse, woken after the takeover, wrote: {write}");

        // Assert: the write failed, nothing of it is on the image, and the fence is host-b's writer's
        Assert.False(write.StartsWith("exit 0", StringComparison.Ordinal), write);
        var fuseA = Assert.Single(HostCleanup.FuseProcessesUnder(_a.StateDir + "/"));
        var onImage = Path.Combine(_root, "on-image");
        (await ToolProcess.RunAsync("dd", [$"if={FuseFileOf(fuseA)}", $"of={onImage}", "bs=4096", "count=1", $"skip={lastBlock}", "iflag=direct", "status=none"]))
            .EnsureSuccess("dd from host-a's rbd-fuse");
        Assert.NotEqual(await File.ReadAllBytesAsync(pattern), await File.ReadAllBytesAsync(onImage));
        var fences = (await CliProcess.RunAsync("host", "fences", "host-b", "--json")).EnsureSuccess("host fences").Json;
        var fenced = fences.EnumerateArray().Select(f => f.GetProperty("address").GetString()!).ToList();
        Assert.Contains(recordedWriters[0], fenced);
        var blocklist = (await CephCli.RunAdminAsync("ceph", "osd", "blocklist", "ls", "--format", "json")).EnsureSuccess("blocklist ls").FirstJson;
        var entry = blocklist.EnumerateArray().Single(e => e.GetProperty("addr").GetString() == recordedWriters[0]);
        output.WriteLine($"host-b's writer {recordedWriters[0]} blocklisted until {entry.GetProperty("until").GetString()}");
        Assert.True(DateTimeOffset.Parse(entry.GetProperty("until").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddYears(9));
        Assert.Equal("a", await File.ReadAllTextAsync(Path.Combine(onA, "from-a")));
    }

    [Fact]
    public async Task OwnerDies_EveryRecordItsFsyncAcknowledged_IsThereAfterTheTakeover()
    {
        // Arrange: a "database" on host-b appends a record with fsync every 50 ms and says which ones were acknowledged
        await _clientB.CreateAsync(_volume, new() { ["size"] = $"{SizeMiB}M" });
        var onB = await _clientB.MountAsync(_volume, IdB);
        using var writer = ToolProcess.Start("sh",
        [
            "-c",
            "i=0; while :; do i=$((i+1)); printf '%08d\\n' $i | dd of=log bs=9 count=1 oflag=append conv=notrunc,fsync 2>/dev/null && echo $i; sleep 0.05; done",
        ], workingDirectory: onB);
        var acked = new List<int>();
        writer.OutputDataReceived += (_, e) =>
        {
            if (int.TryParse(e.Data, out var n))
            {
                lock (acked)
                {
                    acked.Add(n);
                }
            }
        };
        writer.BeginOutputReadLine();
        await WaitUntilAsync(() => Task.FromResult(Count(acked) >= 20), TimeSpan.FromSeconds(30), "the writer acknowledged nothing");

        // Act: host-b dies mid-stream: its daemon, its rbd-fuse and the writer, all at once
        var fuseB = Assert.Single(HostCleanup.FuseProcessesUnder(_b.StateDir + "/"));
        await ToolProcess.RunAsync("kill", ["-9", _b.Pid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            fuseB.ToString(System.Globalization.CultureInfo.InvariantCulture), writer.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await writer.WaitForExitAsync();
        int[] acknowledged;
        lock (acked)
        {
            acknowledged = [.. acked];
        }

        var onA = await MountWhenLapsedAsync();

        // Assert: every acknowledged record is on the volume, in order
        var records = (await File.ReadAllLinesAsync(Path.Combine(onA, "log"))).Select(l => int.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        output.WriteLine($"{acknowledged.Length} records acknowledged before host-b died, {records.Count} on the volume after the takeover");
        Assert.Equal(Enumerable.Range(1, records.Count), records);
        Assert.True(records.Count >= acknowledged.Max(), $"acknowledged up to #{acknowledged.Max()}, the volume holds up to #{records.Count}");
    }

    private static int Count(List<int> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private async Task StopAsync(int pid)
    {
        (await ToolProcess.RunAsync("kill", ["-STOP", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])).EnsureSuccess("kill -STOP");
        _stopped.Add(pid);
    }

    /// <summary>The image file an rbd-fuse process serves: DIR/IMAGE, DIR its last argument.</summary>
    private string FuseFileOf(int pid) => Path.Combine(File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries)[^1], _volume);

    private async Task<IReadOnlyList<string>> LeaseWritersAsync()
    {
        var owner = (await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "getomapval", $"rbd-plugin.lease.{_volume}", "owner", "/dev/stdout"))
            .EnsureSuccess("getomapval").Stdout;
        var json = owner[owner.IndexOf('{', StringComparison.Ordinal)..(owner.LastIndexOf('}') + 1)];
        return [.. JsonDocument.Parse(json).RootElement.GetProperty("writers").EnumerateArray().Select(w => w.GetString()!)];
    }

    private async Task<IReadOnlyList<JsonElement>> WatchersAsync() =>
        [.. (await CephCli.RunAsync("rbd", "status", "--format", "json", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd status").Json
            .GetProperty("watchers").EnumerateArray()];

    private async Task<string> MountWhenLapsedAsync()
    {
        var deadline = DateTime.UtcNow + LeaseDuration * 4;
        while (true)
        {
            try
            {
                return await _clientA.MountAsync(_volume, IdA);
            }
            catch (PluginErrorException e) when (e.Err.Contains("host-b", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
            }
        }
    }

    private static async Task<string> TryRunAsync(string program, string[] args)
    {
        try
        {
            var result = await ToolProcess.RunAsync(program, args, TimeSpan.FromSeconds(20));
            return $"exit {result.ExitCode}: {result.Stderr.Trim()}";
        }
        catch (TimeoutException)
        {
            return "no answer within 20 s (the write never completed)";
        }
    }

    private static async Task UnfenceAsync(string host)
    {
        var adminKeyring = Path.Combine(Path.GetDirectoryName(DevCluster.ConfPath)!, "ceph.client.admin.keyring");
        await CliProcess.RunAsync("host", "unfence", host, "--ceph-id", "admin", "--keyring", adminKeyring);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan bound, string what)
    {
        for (var deadline = DateTime.UtcNow + bound; !await condition(); await Task.Delay(250))
        {
            Assert.True(DateTime.UtcNow < deadline, what);
        }
    }
}
