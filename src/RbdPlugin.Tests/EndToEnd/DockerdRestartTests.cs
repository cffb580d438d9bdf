using System.Diagnostics;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// dockerd dying and restarting on a host (issue 3, item 5) with a container on a volume. dockerd 20.10 without
/// live-restore kills the container when it comes back and never sends its Unmount (nor does `docker rm`): the
/// plugin must converge by itself (UnusedMountReaper), so the volume is free for another host again. Runs on its
/// own named engine, which it restarts; the final read is on the dev engine with the fixture's plugin.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class DockerdRestartTests(DockerPluginFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string EngineName = "hsa-restart";
    private static readonly TimeSpan UnusedTimeout = TimeSpan.FromSeconds(3);
    private readonly string _volume = DevCluster.NewName();
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-restart-").FullName;
    private DevEngine _engine = null!;
    private HostNamespace _host = null!;
    private PluginProcess _plugin = null!;

    public async Task InitializeAsync()
    {
        _engine = await DevEngine.UpAsync(EngineName);
        _host = _engine.Namespace;
        _plugin = new PluginProcess(_root, "host-restart", "--unmount-grace", "200ms", "--unused-mount-timeout", "3s")
        {
            Socket = _engine.PluginSocket,
            Namespace = _host,
        };
        await _plugin.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _engine.DockerAsync("rm", "-f", Container);
        await _engine.DockerAsync("volume", "rm", "-f", _volume);
        await DockerCli.RunAsync("volume", "rm", "-f", _volume);
        await _plugin.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root, _host);
        File.Delete(_engine.PluginSocket);
        await _engine.DisposeAsync();
        await CephCli.RunAsync("rbd", "rm", "--no-progress", $"{DevCluster.Pool}/{_volume}");
        await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rm", $"rbd-plugin.lease.{_volume}");
        Directory.Delete(_root, recursive: true);
    }

    private string Container => $"{_volume}-c";

    private string Mountpoint => Path.Combine(_plugin.MountRoot, _volume);

    /// <summary>How many requests of the verb for this test's volume the plugin logged (one JSON object per request).</summary>
    private int Requests(PluginProcess plugin, string verb) => plugin.Log.Count(l =>
        l.Contains($"\"Verb\":\"VolumeDriver.{verb}\"", StringComparison.Ordinal) && l.Contains($"\"Volume\":\"{_volume}\"", StringComparison.Ordinal));

    [Fact]
    public async Task DockerdKilledAndRestarted_ContainerDiedWithoutUnmount_VolumeReleasedAndUsableElsewhere()
    {
        (await _engine.DockerAsync("volume", "create", "-d", "rbd", "-o", "size=256M", _volume)).EnsureSuccess();
        (await _engine.DockerAsync("run", "-d", "--name", Container, "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image,
            "sh", "-c", "echo before-restart > /data/f && sync && sleep 600")).EnsureSuccess();

        // A running container is never robbed, however long it runs past the timeout.
        await Task.Delay(UnusedTimeout * 3);
        Assert.True(_host.IsMounted(Mountpoint), "the volume of a running container was released");

        await _engine.RestartAsync(kill: true);
        var clock = Stopwatch.StartNew();
        var state = (await _engine.DockerAsync("inspect", "-f", "{{.State.Status}}", Container)).EnsureSuccess().Output;
        output.WriteLine($"after dockerd was killed and restarted the container is {state}; Unmounts received: {Requests(_plugin, "Unmount")}");
        Assert.Equal("exited", state);

        for (var deadline = DateTime.UtcNow.AddSeconds(60); _host.IsMounted(Mountpoint); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the volume stayed mounted with no container");
        }

        output.WriteLine($"released {clock.Elapsed.TotalSeconds:0.0} s after dockerd answered again (UnusedMountTimeout {UnusedTimeout.TotalSeconds} s)");

        Assert.Equal(1, Requests(_plugin, "Mount"));
        Assert.Equal(0, Requests(_plugin, "Unmount")); // Docker never said: the plugin found out itself
        Assert.Contains(_plugin.Log, l => l.Contains("no container has used", StringComparison.Ordinal));

        // Another host may have it now.
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=256M", _volume)).EnsureSuccess();
        var read = await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "cat /data/f");
        Assert.Equal("before-restart", read.EnsureSuccess().Output);
        Assert.Equal(1, Requests(fixture.Plugin, "Mount"));
    }
}
