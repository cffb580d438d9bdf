using System.Diagnostics;
using System.Text.RegularExpressions;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd.MultiHost;

/// <summary>
/// Ownership under failure, with two real daemons as two hosts on the dev cluster: a daemon another host fenced
/// fails fast and lets go of its volume; a killed host restarted after a takeover cleans up and stays off; a plugin
/// restart under a running "container" is not a failover; and a removed volume leaves no lease object behind.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed partial class FencingClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string IdB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(6);
    private static readonly string[] HostArgs = ["--unmount-grace", "200ms", "--lease-duration", "6s", "--ceph-timeout", "2s", "--lease-wait", "1s"];

    /// <summary>What "fails fast" promises: far below Docker's request timeout, whatever the load on this machine.</summary>
    private static readonly TimeSpan FastBound = TimeSpan.FromSeconds(10);

    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-fence-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly List<string> _volumes = [];
    private readonly List<string> _fenced = [];
    private readonly List<Writer> _writers = [];
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
        await CreateAsync(_volume);
    }

    public async Task DisposeAsync()
    {
        foreach (var writer in _writers)
        {
            writer.Dispose();
        }

        foreach (var volume in _volumes)
        {
            try
            {
                await _clientB.UnmountAsync(volume, IdB);
            }
            catch (Exception e) when (e is PluginErrorException or HttpRequestException)
            {
            }
        }

        await Task.Delay(800); // grace + release on B
        _clientA.Dispose();
        _clientB.Dispose();
        _fenced.AddRange(_a.Log.Concat(_b.Log).SelectMany(l => FencedAddress().Matches(l).Select(m => m.Groups[1].Value)));
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await VolumeLeftovers.RemoveAsync([.. _volumes]);

        foreach (var address in _fenced.Distinct())
        {
            await CephCli.RunAdminAsync("ceph", "osd", "blocklist", "rm", address);
        }

        Directory.Delete(_root, recursive: true);
    }

    [GeneratedRegex("FENCED client (?:\\\\\")?([0-9.]+:[0-9]+/[0-9]+)")]
    private static partial Regex FencedAddress();

    [Fact]
    public async Task FencedDaemon_EveryVerbFailsFast_NamingTheFenceAndTheRestart_ItsWritesFail()
    {
        var other = DevCluster.NewName();
        await CreateAsync(other);
        var onA = await _clientA.MountAsync(_volume, IdA);
        using var writer = Track(Writer.StartIn(onA));
        await writer.WaitForAsync("ok");

        // host-b's operator fences host-a and takes the volume: host-a's daemon and its rbd-fuse are blocklisted.
        var takeover = await CliProcess.RunAsync("volume", "takeover", _volume, "--force", "--json");
        Assert.True(takeover.ExitCode == 0, takeover.Stderr);
        _fenced.AddRange(takeover.Json.GetProperty("fenced").EnumerateArray().Select(a => a.GetString()!));
        var writesBefore = writer.Lines.Count; // everything printed so far may have reached the image, and one more in flight
        var onB = await _clientB.MountAsync(_volume, IdB);
        await File.WriteAllTextAsync(Path.Combine(onB, "from-b"), "b owns it");

        // host-a notices at its next renewal (every 2 s).
        for (var deadline = DateTime.UtcNow + LeaseDuration * 3; !_a.Log.Any(l => l.Contains("was FENCED", StringComparison.Ordinal)); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "host-a did not notice the fence:\n" + string.Join('\n', _a.Log.TakeLast(20)));
        }

        var verbs = new (string Verb, Func<Task> Call)[]
        {
            ("Mount (the fenced volume)", () => _clientA.MountAsync(_volume, IdA + "2")),
            ("Get", () => _clientA.GetAsync(_volume)),
            ("Unmount", () => _clientA.UnmountAsync(_volume, IdA)),
            ("Remove", () => _clientA.RemoveAsync(_volume)),
            ("Mount (another volume)", () => _clientA.MountAsync(other, IdA)),
            ("Path", () => _clientA.CallAsync("Path", new { Name = _volume })),
            ("List", () => _clientA.ListAsync()),
        };
        foreach (var (verb, call) in verbs)
        {
            var clock = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<PluginErrorException>(call);
            output.WriteLine($"fenced host-a: {verb} failed in {clock.Elapsed.TotalMilliseconds:0} ms: {e.Err}");
            Assert.True(clock.Elapsed < FastBound, $"{verb} took {clock.Elapsed}");
            Assert.Contains("this host (host-a) was fenced", e.Err, StringComparison.Ordinal);
            Assert.Contains("Restart the rbd-plugin daemon", e.Err, StringComparison.Ordinal);
        }

        // host-a let go of its mount, and the "container" still running in it can no longer write to the image.
        await WaitUntilAsync(() => !IsMounted(onA), "host-a's mount was not released");
        await writer.WaitForAsync("fail");
        var after = writer.Lines.Skip(writesBefore).ToList();
        Assert.DoesNotContain(after.SkipWhile(Writer.IsOk), Writer.IsOk); // once they fail, they never succeed again

        // What reached the image: host-b mounts it afresh (nothing cached) and reads the last write number there.
        await _clientB.UnmountAsync(_volume, IdB);
        await WaitUntilAsync(async () => (await _clientB.GetAsync(_volume))!.Value.GetProperty("Status").GetProperty("lease").GetString() == "none",
            "host-b did not release the lease");
        onB = await _clientB.MountAsync(_volume, IdB);
        var onImage = int.Parse((await File.ReadAllTextAsync(Path.Combine(onB, "seq"))).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"writes (fsync each) on host-a: #1-#{writesBefore} done when the takeover had fenced it; after that: " +
            $"{after.Count(Writer.IsOk)} ok, {after.Count(l => !Writer.IsOk(l))} failed ({string.Join(", ", after)}); the image holds #{onImage}");
        Assert.True(onImage <= writesBefore + 1, $"write #{onImage} of the fenced host reached the image after the takeover");
        Assert.Equal("b owns it", await File.ReadAllTextAsync(Path.Combine(onB, "from-b")));
        Assert.Empty(HostCleanup.FuseProcessesUnder(_a.StateDir + "/"));
    }

    [Fact]
    public async Task KilledHost_RestartedAfterTakeover_ReleasesItsLeftovers_AndStaysOff()
    {
        var onA = await _clientA.MountAsync(_volume, IdA);
        await File.WriteAllTextAsync(Path.Combine(onA, "before"), "written by A");
        await _a.KillAsync(); // a dead host: its rbd-fuse, loop device and mount stay behind
        Assert.True(IsMounted(onA));

        var onB = await MountWhenLapsedAsync(_clientB, _volume, IdB);
        Assert.Contains(_b.Log, l => l.Contains("FENCED", StringComparison.Ordinal));

        var clock = Stopwatch.StartNew();
        await _a.StartAsync();
        output.WriteLine($"host-a restarted after the takeover and served after {clock.Elapsed.TotalSeconds:0.0} s");

        var critical = _a.Log.Where(l => l.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal)).ToList();
        Assert.Contains(critical, l => l.Contains("no longer owns it", StringComparison.Ordinal) && l.Contains(_volume, StringComparison.Ordinal));
        Assert.False(IsMounted(onA));
        Assert.Empty(MountsUnder(_a.StateDir));
        Assert.Empty(HostCleanup.LoopsBackedUnder(_a.StateDir + "/"));
        Assert.Empty(HostCleanup.FuseProcessesUnder(_a.StateDir + "/"));

        // host-a never takes it back by itself; host-b keeps it mounted and writable.
        await Task.Delay(LeaseDuration);
        var status = (await _clientA.GetAsync(_volume))!.Value.GetProperty("Status");
        Assert.Equal("host-b", status.GetProperty("owner").GetString());
        Assert.Equal("held", status.GetProperty("lease").GetString());
        Assert.False(status.GetProperty("mounted").GetBoolean());
        await WriteAndSyncAsync(Path.Combine(onB, "after-a-restarted"), "still B's");
        Assert.Equal("written by A", await File.ReadAllTextAsync(Path.Combine(onB, "before")));
        var refused = await Assert.ThrowsAsync<PluginErrorException>(() => _clientA.MountAsync(_volume, IdA));
        Assert.Contains("in use on host host-b", refused.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kill -9")]
    [InlineData("stop")]
    public async Task PluginRestart_WithAContainerWriting_KeepsTheVolume_AndBIsRefused(string how)
    {
        var onA = await _clientA.MountAsync(_volume, IdA);
        using var writer = Track(Writer.StartIn(onA));
        await writer.WaitForAsync("ok");

        await (how == "stop" ? _a.StopAsync() : _a.KillAsync());
        var whileDown = await Assert.ThrowsAsync<PluginErrorException>(() => _clientB.MountAsync(_volume, IdB));
        await _a.StartAsync();
        var afterRestart = await Assert.ThrowsAsync<PluginErrorException>(() => _clientB.MountAsync(_volume, IdB));

        foreach (var refused in new[] { whileDown, afterRestart })
        {
            Assert.Contains("in use on host host-a since", refused.Err, StringComparison.Ordinal);
            Assert.Contains($"rbd-plugin volume takeover {_volume} --force", refused.Err, StringComparison.Ordinal);
        }

        // Past a whole lease duration: the restarted daemon renews the lease it took back; it never lapses.
        await Task.Delay(LeaseDuration + TimeSpan.FromSeconds(1));
        var stillRefused = await Assert.ThrowsAsync<PluginErrorException>(() => _clientB.MountAsync(_volume, IdB));
        Assert.Contains("in use on host host-a", stillRefused.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(_b.Log, l => l.Contains("FENCED", StringComparison.Ordinal));
        Assert.Contains(_a.Log, l => l.Contains("Reconcile done: 1 kept", StringComparison.Ordinal));
        Assert.Equal("host-a", (await _clientA.GetAsync(_volume))!.Value.GetProperty("Status").GetProperty("owner").GetString());

        Assert.True(IsMounted(onA));
        await WriteAndSyncAsync(Path.Combine(onA, "after-restart"), how);
        var ticks = writer.Summary;
        output.WriteLine($"{how}: container writes across the restart: {ticks}");
        Assert.All(writer.Lines, l => Assert.True(Writer.IsOk(l), ticks));
        Assert.True(writer.Lines.Count >= 2, ticks);
    }

    [Fact]
    public async Task Remove_DaemonAndCli_LeaveNoLeaseObject()
    {
        await _clientA.MountAsync(_volume, IdA);
        Assert.Contains(LeaseObject(_volume), await RadosObjectsAsync());
        await _clientA.UnmountAsync(_volume, IdA);
        await _clientA.RemoveAsync(_volume); // within the grace period: releases, then removes

        var viaCli = DevCluster.NewName();
        await CreateAsync(viaCli);
        await _clientB.MountAsync(viaCli, IdB);
        await _clientB.UnmountAsync(viaCli, IdB);
        await WaitUntilAsync(async () => (await _clientB.GetAsync(viaCli))!.Value.GetProperty("Status").GetProperty("lease").GetString() == "none",
            "host-b did not release the lease");
        var rm = await CliProcess.RunAsync("volume", "rm", viaCli, "--json");
        Assert.True(rm.ExitCode == 0, rm.Stderr);

        var objects = await RadosObjectsAsync();
        Assert.DoesNotContain(LeaseObject(_volume), objects);
        Assert.DoesNotContain(LeaseObject(viaCli), objects);
    }

    [Fact]
    public async Task Remove_RacingAMountOnAnotherHost_OneWins_NoLeaseObjectLeftWhenRemoved()
    {
        var rounds = 6;
        var removedCount = 0;
        for (var round = 0; round < rounds; round++)
        {
            var name = DevCluster.NewName();
            await CreateAsync(name);
            var remove = Outcome(_clientA.RemoveAsync(name));
            var mount = Outcome(_clientB.MountAsync(name, IdB));
            var (removed, removeErr) = await remove;
            var (mounted, mountErr) = await mount;
            output.WriteLine($"round {round}: remove {(removed ? "ok" : removeErr)}; mount {(mounted ? "ok" : mountErr)}");

            Assert.NotEqual(removed, mounted); // exactly one wins
            if (removed)
            {
                // The Mount found the volume gone, or gave up waiting (LeaseWait 1 s) while the Remove still held
                // the lease (a slow delete on a loaded machine): refused either way, nothing mapped.
                Assert.True(mountErr.Contains("no such volume", StringComparison.Ordinal)
                    || mountErr.Contains("is in use on host host-a", StringComparison.Ordinal), mountErr);
                Assert.DoesNotContain(LeaseObject(name), await RadosObjectsAsync());
                Assert.False(IsMounted(Path.Combine(_b.MountRoot, name)));
                removedCount++;
            }
            else
            {
                Assert.Contains("is mounted on host host-b", removeErr, StringComparison.Ordinal);
                Assert.NotNull(await _clientA.GetAsync(name));
            }
        }

        output.WriteLine($"remove/mount race: {rounds} rounds, removal won {removedCount}");
    }

    private async Task CreateAsync(string name)
    {
        _volumes.Add(name);
        await _clientA.CreateAsync(name, new() { ["size"] = "128M" });
    }

    private Writer Track(Writer writer)
    {
        _writers.Add(writer);
        return writer;
    }

    private static async Task<string> MountWhenLapsedAsync(PluginClient client, string volume, string id)
    {
        var deadline = DateTime.UtcNow + LeaseDuration * 3;
        while (true)
        {
            try
            {
                return await client.MountAsync(volume, id);
            }
            catch (PluginErrorException e) when (e.Err.Contains("host-a", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
            }
        }
    }

    private static async Task<(bool Ok, string Err)> Outcome(Task call)
    {
        try
        {
            await call;
            return (true, "");
        }
        catch (PluginErrorException e)
        {
            return (false, e.Err);
        }
    }

    private static string LeaseObject(string volume) => $"rbd-plugin.lease.{volume}";

    private static async Task<IReadOnlyList<string>> RadosObjectsAsync() =>
        (await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "ls")).EnsureSuccess("rados ls").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static async Task WriteAndSyncAsync(string path, string text)
    {
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough);
        await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text));
        file.Flush(flushToDisk: true);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what) => await WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !await condition(); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, what);
        }
    }

    private static string[][] MountInfo() => [.. File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' '))];

    private static bool IsMounted(string path) => MountInfo().Any(f => f[4] == path);

    private static List<string> MountsUnder(string dir) =>
        [.. MountInfo().Select(f => f[4]).Where(p => p.StartsWith(dir + "/", StringComparison.Ordinal))];

    /// <summary>
    /// A stand-in for a container using the volume: a process whose working directory is inside the mount (so it
    /// keeps the filesystem, as a container's own mount does when the host's is detached), writing its write number
    /// into the file "seq" with fsync every 200 ms and printing "ok N" or "fail N" for each write.
    /// </summary>
    private sealed class Writer : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private int _disposed;

        private Writer(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (_lines)
                    {
                        _lines.Add(line);
                    }
                }
            };
            _process.BeginOutputReadLine();
        }

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public string Summary => $"{Lines.Count(IsOk)} ok, {Lines.Count(l => !IsOk(l))} failed";

        public static bool IsOk(string line) => line.StartsWith("ok ", StringComparison.Ordinal);

        public static Writer StartIn(string directory)
        {
            return new Writer(ToolProcess.Start("sh",
            [
                "-c",
                "i=0; while :; do i=$((i+1)); if printf '%08d\\n' $i | dd of=seq bs=9 count=1 conv=notrunc,fsync 2>/dev/null; " +
                "then echo ok $i; else echo fail $i; fi; sleep 0.2; done",
            ], workingDirectory: directory));
        }

        public async Task WaitForAsync(string line)
        {
            for (var deadline = DateTime.UtcNow.AddSeconds(30); !Lines.Any(l => l.StartsWith(line + " ", StringComparison.Ordinal)); await Task.Delay(100))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the writer never printed {line}: {Summary}");
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }
    }
}
