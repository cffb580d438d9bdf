using System.Diagnostics;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// dockerd dying and restarting on a host with a container on a volume. dockerd 20.10 without
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
    private DevEngine _engine = null!;

    public async Task InitializeAsync() =>
        _engine = await DevEngine.UpAsync(EngineName, "host-restart", "--unmount-grace", "200ms", "--unused-mount-timeout", "3s");

    private PluginProcess Plugin => _engine.Plugin;

    private HostNamespace Host => _engine.Namespace;

    public async Task DisposeAsync()
    {
        await _engine.DockerAsync("rm", "-f", Container);
        await _engine.DisposeWithVolumeAsync(_volume);
    }

    private string Container => $"{_volume}-c";

    private string Mountpoint => Path.Combine(Plugin.MountRoot, _volume);

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
        Assert.True(Host.IsMounted(Mountpoint), "the volume of a running container was released");

        await _engine.RestartAsync(kill: true);
        var clock = Stopwatch.StartNew();
        var state = (await _engine.DockerAsync("inspect", "-f", "{{.State.Status}}", Container)).EnsureSuccess().Output;
        output.WriteLine($"after dockerd was killed and restarted the container is {state}; Unmounts received: {Requests(Plugin, "Unmount")}");
        Assert.Equal("exited", state);

        for (var deadline = DateTime.UtcNow.AddSeconds(60); Host.IsMounted(Mountpoint); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the volume stayed mounted with no container");
        }

        output.WriteLine($"released {clock.Elapsed.TotalSeconds:0.0} s after dockerd answered again (UnusedMountTimeout {UnusedTimeout.TotalSeconds} s)");

        Assert.Equal(1, Requests(Plugin, "Mount"));
        Assert.Equal(0, Requests(Plugin, "Unmount")); // Docker never said: the plugin found out itself
        Assert.Contains(Plugin.Log, l => l.Contains("no container has used", StringComparison.Ordinal));

        // Another host may have it now.
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=256M", _volume)).EnsureSuccess();
        var read = await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "cat /data/f");
        Assert.Equal("before-restart", read.EnsureSuccess().Output);
        Assert.Equal(1, Requests(fixture.Plugin, "Mount"));
    }
}
