using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd.MultiHost;

/// <summary>
/// Two real daemons as two hosts (own host id, socket, state dir, mount root, and mount namespace) on the dev
/// cluster, sharing one pool: migration, refusal while the owner lives, takeover with fencing after a kill -9, and
/// racing Mounts. Each host's mounts are private to its namespace, so the test reads and writes a host's volume
/// through that namespace (<see cref="HostNamespace.Reach"/>), as a container on that host would.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed partial class MultiHostClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string IdB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(6);
    private static readonly string[] HostArgs = ["--unmount-grace", "200ms", "--lease-duration", "6s", "--ceph-timeout", "2s", "--lease-wait", "1s"];
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-hosts-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private HostNamespace _hostA = null!;
    private HostNamespace _hostB = null!;
    private PluginProcess _a = null!;
    private PluginProcess _b = null!;
    private PluginClient _clientA = null!;
    private PluginClient _clientB = null!;

    public async Task InitializeAsync()
    {
        _hostA = await HostNamespace.CreateAsync();
        _hostB = await HostNamespace.CreateAsync();
        _a = new PluginProcess(Path.Combine(_root, "a"), "host-a", HostArgs) { Namespace = _hostA };
        _b = new PluginProcess(Path.Combine(_root, "b"), "host-b", HostArgs) { Namespace = _hostB };
        await Task.WhenAll(_a.StartAsync(), _b.StartAsync());
        _clientA = _a.Client();
        _clientB = _b.Client();
        await _clientA.CreateAsync(_volume, new() { ["size"] = "256M" });
    }

    public async Task DisposeAsync()
    {
        foreach (var client in new[] { _clientA, _clientB })
        {
            try
            {
                await client.UnmountAsync(_volume, IdA);
                await client.UnmountAsync(_volume, IdB);
            }
            catch (Exception e) when (e is PluginErrorException or HttpRequestException)
            {
            }
        }

        await Task.Delay(800); // grace + release
        _clientA.Dispose();
        _clientB.Dispose();
        var fenced = _a.Log.Concat(_b.Log).SelectMany(l => FencedAddress().Matches(l).Select(m => m.Groups[1].Value)).Distinct().ToList();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        foreach (var host in new[] { _hostA, _hostB })
        {
            await HostCleanup.ReleaseUnderAsync(_root, host);
            await host.DisposeAsync();
        }

        await CephCli.RunAsync("rbd", "rm", "--no-progress", $"{DevCluster.Pool}/{_volume}");
        await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rm", $"rbd-plugin.lease.{_volume}");
        foreach (var address in fenced)
        {
            await CephCli.RunAdminAsync("ceph", "osd", "blocklist", "rm", address);
        }

        Directory.Delete(_root, recursive: true);
    }

    [GeneratedRegex("FENCED client (?:\\\\\")?([0-9.]+:[0-9]+/[0-9]+)")]
    private static partial Regex FencedAddress();

    /// <summary>When the daemon logged the first line containing the text, in ms of its clock (JSON "@t").</summary>
    private static double LoggedAt(PluginProcess daemon, string text) =>
        daemon.Log.Where(l => l.Contains(text, StringComparison.Ordinal))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("@t").GetDateTimeOffset().ToUnixTimeMilliseconds())
            .DefaultIfEmpty(0).First();

    private static async Task<string> LeaseStateAsync(PluginClient client, string volume) =>
        (await client.GetAsync(volume))!.Value.GetProperty("Status").GetProperty("lease").GetString()!;

    private async Task WaitForLeaseNoneAsync(PluginClient client)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(15); await LeaseStateAsync(client, _volume) != "none"; await Task.Delay(50))
        {
            Assert.True(DateTime.UtcNow < deadline, "the lease was not released");
        }
    }

    [Fact]
    public async Task Migration_UnmountOnA_MountOnB_SameBytes()
    {
        var data = RandomNumberGenerator.GetBytes(4 << 20);
        var onA = await _clientA.MountAsync(_volume, IdA);
        await File.WriteAllBytesAsync(_hostA.Reach(Path.Combine(onA, "data.bin")), data);
        // Private like a real host's: A's mount shows in A's namespace only.
        Assert.True(_hostA.IsMounted(onA));
        Assert.False(_hostB.IsMounted(onA));
        Assert.False(HostNamespace.IsMountedHere(onA));
        Assert.NotEqual(_hostA.Id, _hostB.Id);

        var clock = Stopwatch.StartNew();
        await _clientA.UnmountAsync(_volume, IdA);
        // Within A's grace: B waits (1 s a try) for the release, which ends only once A's rbd-fuse has closed the image
        // (1.3-1.5 s after its umount under load), so B may need another try; the contract is the 10 s bound below.
        string? onB = null;
        while (onB is null)
        {
            try
            {
                onB = await _clientB.MountAsync(_volume, IdB);
            }
            catch (PluginErrorException e) when (e.Err.Contains("host-a", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
            }
        }

        var migration = clock.Elapsed;

        Assert.False(_hostA.IsMounted(onA));
        Assert.True(_hostB.IsMounted(onB));
        Assert.False(HostNamespace.IsMountedHere(onB));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(_hostB.Reach(Path.Combine(onB, "data.bin")))));
        var status = (await _clientA.GetAsync(_volume))!.Value.GetProperty("Status");
        Assert.Equal("host-b", status.GetProperty("owner").GetString());
        Assert.Equal("held", status.GetProperty("lease").GetString());
        Assert.DoesNotContain(_b.Log, l => l.Contains("FENCED", StringComparison.Ordinal));
        output.WriteLine($"migration: B's Mount returned {migration.TotalMilliseconds:0} ms after A's Unmount (grace 200 ms); " +
            $"A released {LoggedAt(_a, "Released volume") - LoggedAt(_a, "VolumeDriver.Unmount"):0} ms after its Unmount, " +
            $"B had mapped and mounted it {LoggedAt(_b, "Mounted volume") - LoggedAt(_a, "Released volume"):0} ms after A's release");
        Assert.True(migration < TimeSpan.FromSeconds(10), $"migration took {migration}");
    }

    [Fact]
    public async Task Mount_OnBWhileAHoldsIt_RefusedNamingHostA()
    {
        var onA = await _clientA.MountAsync(_volume, IdA);

        var e = await Assert.ThrowsAsync<PluginErrorException>(() => _clientB.MountAsync(_volume, IdB));

        Assert.Contains("in use on host host-a since", e.Err, StringComparison.Ordinal);
        Assert.Contains($"rbd-plugin volume takeover {_volume} --force", e.Err, StringComparison.Ordinal);
        Assert.False(_hostB.IsMounted(Path.Combine(_b.MountRoot, _volume)));
        await File.WriteAllTextAsync(_hostA.Reach(Path.Combine(onA, "still-mine")), "yes");
    }

    [Fact]
    public async Task KillA_BTakesOverAfterTheLeaseLapses_AsOldMappingCanNoLongerWrite()
    {
        var onA = await _clientA.MountAsync(_volume, IdA);
        await File.WriteAllTextAsync(_hostA.Reach(Path.Combine(onA, "before")), "written by A");

        await _a.KillAsync(); // a dead host: its rbd-fuse, loop and mount stay behind, in A's namespace
        var clock = Stopwatch.StartNew();
        string? onB = null;
        var attempts = 0;
        while (onB is null)
        {
            attempts++;
            try
            {
                onB = await _clientB.MountAsync(_volume, IdB);
            }
            catch (PluginErrorException e) when (e.Err.Contains("host-a", StringComparison.Ordinal) && clock.Elapsed < LeaseDuration * 3)
            {
            }
        }

        var takeover = clock.Elapsed;
        Assert.Contains(_b.Log, l => l.Contains("FENCED", StringComparison.Ordinal));
        Assert.Equal("written by A", await File.ReadAllTextAsync(_hostB.Reach(Path.Combine(onB, "before"))));
        output.WriteLine($"takeover: B mounted {takeover.TotalSeconds:0.0} s after kill -9 of A ({attempts} Mount attempts, lease {LeaseDuration.TotalSeconds} s)");
        Assert.True(takeover < LeaseDuration * 3, $"takeover took {takeover}");

        // A's old mapping is fenced: a write that must reach the image fails.
        Assert.True(_hostA.IsMounted(onA));
        var result = await RunAsync("dd", "if=/dev/urandom", $"of={_hostA.Reach(Path.Combine(onA, "after-fence"))}", "bs=1M", "count=4", "conv=fsync,notrunc", "oflag=direct");
        output.WriteLine($"write through A's fenced mount: exit {result.ExitCode}: {result.Stderr.Trim()}");
        Assert.NotEqual(0, result.ExitCode);
        Assert.False(File.Exists(_hostB.Reach(Path.Combine(onB, "after-fence"))));
    }

    [Fact]
    public async Task Race_BothMountAtOnce_NeverBothSucceed()
    {
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("RBD_PLUGIN_RACE_ROUNDS"), out var n) ? n : 20;
        var both = 0;
        var wins = new Dictionary<string, int> { ["host-a"] = 0, ["host-b"] = 0, ["none"] = 0 };
        for (var round = 0; round < rounds; round++)
        {
            var a = Try(_clientA.MountAsync(_volume, IdA));
            var b = Try(_clientB.MountAsync(_volume, IdB));
            var (okA, errA) = await a;
            var (okB, errB) = await b;
            if (okA && okB)
            {
                both++;
            }

            wins[okA ? "host-a" : okB ? "host-b" : "none"]++;
            if (okA != okB)
            {
                var loser = okA ? errB : errA;
                Assert.Contains($"in use on host {(okA ? "host-a" : "host-b")}", loser, StringComparison.Ordinal);
            }

            if (okA)
            {
                await _clientA.UnmountAsync(_volume, IdA);
            }

            if (okB)
            {
                await _clientB.UnmountAsync(_volume, IdB);
            }

            await WaitForLeaseNoneAsync(_clientA);
        }

        output.WriteLine($"race: {rounds} rounds, both mounted {both}, won by host-a {wins["host-a"]}, host-b {wins["host-b"]}, neither {wins["none"]}");
        Assert.Equal(0, both);
        Assert.Equal(0, wins["none"]);
    }

    private static async Task<(bool Ok, string Err)> Try(Task<string> mount)
    {
        try
        {
            await mount;
            return (true, "");
        }
        catch (PluginErrorException e)
        {
            return (false, e.Err);
        }
    }

    private static async Task<(int ExitCode, string Stderr)> RunAsync(string program, params string[] args)
    {
        var result = await ToolProcess.RunAsync(program, args, TimeSpan.FromSeconds(60));
        return (result.ExitCode, result.Stderr);
    }
}
