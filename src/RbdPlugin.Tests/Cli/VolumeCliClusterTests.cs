using System.Text.Json;
using System.Text.RegularExpressions;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Cli;

/// <summary>The runbook commands as an operator runs them: the real executable against the dev cluster, next to a
/// real daemon ("host-a") that mounts volumes through the fuse mapper.</summary>
[Trait("Tier", "Cluster")]
public sealed partial class VolumeCliClusterTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-cli-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly List<string> _fenced = [];
    private PluginProcess? _daemon;
    private bool _daemonFenced;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_daemon is not null && !_daemonFenced) // a fenced daemon released the volume itself; its Ceph calls would hang
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
        }

        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
            await HostCleanup.ReleaseUnderAsync(_root);
        }

        await VolumeLeftovers.RemoveAsync(_volume);
        foreach (var address in _fenced.Distinct())
        {
            await CephCli.RunAdminAsync("ceph", "osd", "blocklist", "rm", address);
        }

        Directory.Delete(_root, recursive: true);
    }

    [GeneratedRegex("FENCED client (?:\\\\\")?([0-9.]+:[0-9]+/[0-9]+)")]
    private static partial Regex FencedAddress();

    private async Task<string> MountOnDaemonAsync()
    {
        _daemon = new PluginProcess(Path.Combine(_root, "a"), "host-a", "--unmount-grace", "200ms", "--lease-duration", "6s", "--ceph-timeout", "2s");
        await _daemon.StartAsync();
        using var client = _daemon.Client();
        await client.CreateAsync(_volume, new() { ["size"] = "256M" });
        return await client.MountAsync(_volume, "m1");
    }

    [Fact]
    public async Task CreateLsInspectRm_RoundTrip()
    {
        // Create
        var created = await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=300M", "-o", "fstype=xfs", "--json");
        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.Equal(300UL << 20, created.Json.GetProperty("sizeBytes").GetUInt64());

        // ls --json has it with the right size and no owner
        var ls = await CliProcess.RunAsync("volume", "ls", "--json");
        Assert.True(ls.ExitCode == 0, ls.Stderr);
        var row = ls.Json.EnumerateArray().Single(r => r.GetProperty("name").GetString() == _volume);
        Assert.Equal(300UL << 20, row.GetProperty("sizeBytes").GetUInt64());
        Assert.Equal("xfs", row.GetProperty("fstype").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("owner").ValueKind);

        // inspect --json shows the daemon's status keys
        var inspect = await CliProcess.RunAsync("volume", "inspect", _volume, "--json");
        Assert.True(inspect.ExitCode == 0, inspect.Stderr);
        var status = inspect.Json.GetProperty("status");
        Assert.Equal($"{DevCluster.Pool}/{_volume}", status.GetProperty("image").GetString());
        Assert.Equal("none", status.GetProperty("lease").GetString());
        Assert.False(status.GetProperty("mounted").GetBoolean());

        // Create again with the same options: idempotent; with another size: conflict (5)
        Assert.Equal(0, (await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=300M", "-o", "fstype=xfs")).ExitCode);
        Assert.Equal(5, (await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=1G", "-o", "fstype=xfs")).ExitCode);

        // rm, then it is gone from ls and inspect says not found (4); rm again is fine
        var rm = await CliProcess.RunAsync("volume", "rm", _volume, "--json");
        Assert.True(rm.ExitCode == 0, rm.Stderr);
        Assert.True(rm.Json.GetProperty("removed").GetBoolean());
        Assert.DoesNotContain((await CliProcess.RunAsync("volume", "ls", "--json")).Json.EnumerateArray(),
            r => r.GetProperty("name").GetString() == _volume);
        Assert.Equal(4, (await CliProcess.RunAsync("volume", "inspect", _volume)).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync("volume", "rm", _volume)).ExitCode);
    }

    [Fact]
    public async Task Rm_VolumeMountedByARunningDaemon_RefusedWith5NamingTheHost()
    {
        var mountpoint = await MountOnDaemonAsync();

        var rm = await CliProcess.RunAsync("volume", "rm", _volume);

        Assert.Equal(5, rm.ExitCode);
        Assert.Contains("mounted on host host-a", rm.Stderr, StringComparison.Ordinal);
        Assert.True(Directory.Exists(mountpoint));
        var ls = await CliProcess.RunAsync("volume", "ls", "--json");
        Assert.Equal("host-a", ls.Json.EnumerateArray().Single(r => r.GetProperty("name").GetString() == _volume).GetProperty("owner").GetString());
    }

    [Fact]
    public async Task Takeover_LiveLease_RefusedWithoutForce_ForceFencesTheDaemon()
    {
        await MountOnDaemonAsync();

        var polite = await CliProcess.RunAsync("volume", "takeover", _volume);
        Assert.Equal(5, polite.ExitCode);
        Assert.Contains("--force", polite.Stderr, StringComparison.Ordinal);

        var forced = await CliProcess.RunAsync("volume", "takeover", _volume, "--force", "--json");
        _daemonFenced = true;
        Assert.True(forced.ExitCode == 0, forced.Stderr);
        var fenced = forced.Json.GetProperty("fenced").EnumerateArray().Select(a => a.GetString()!).ToList();
        _fenced.AddRange(fenced);
        Assert.Equal("host-a", forced.Json.GetProperty("previousOwner").GetString());
        Assert.True(forced.Json.GetProperty("brokeLiveLease").GetBoolean());
        Assert.NotEmpty(fenced);

        // The daemon learns at its next renewal (every 2s) that it lost the lease.
        for (var deadline = DateTime.UtcNow.AddSeconds(15); !_daemon!.Log.Any(l => l.Contains("LOST", StringComparison.Ordinal)); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the daemon did not notice it was fenced:\n" + string.Join("\n", _daemon.Log.TakeLast(20)));
        }

        _fenced.AddRange(_daemon.Log.SelectMany(l => FencedAddress().Matches(l).Select(m => m.Groups[1].Value)));
        var inspect = await CliProcess.RunAsync("volume", "inspect", _volume, "--json");
        Assert.Equal("none", inspect.Json.GetProperty("status").GetProperty("lease").GetString());
    }
}
