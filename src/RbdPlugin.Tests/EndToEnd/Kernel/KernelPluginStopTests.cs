using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// A managed plugin is one container to Docker: stopping it (an upgrade, <c>docker plugin disable -f</c>) kills every
/// process in it, rbd-nbd's daemons with the plugin, and unmounts its propagated mount, while a running container
/// keeps its own mount of the volume's filesystem. Done here by hand, in the guest, with a mount namespace for the
/// container. The nbd device outlives its rbd-nbd (mapped through netlink with a reattach timeout), so the
/// container's I/O waits instead of failing, and the restarted plugin re-attaches it.
/// </summary>
public sealed class KernelPluginStopTests(KernelGuest guest, ITestOutputHelper output) : KernelTest(guest)
{
    [Fact]
    public async Task Nbd_PluginStopKillsItsRbdNbd_RestartReattaches_TheContainersWriteDuringTheOutageLands()
    {
        // Arrange: a volume mounted for a "container" (a mount namespace made after the Mount, so it has the volume)
        var plugin = await StartPluginAsync("nbd");
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });
        var mountpoint = await plugin.MountAsync(volume, IdA);
        var container = await NewHostNamespaceAsync();
        var before = await Guest.WriteRandomAsync($"{mountpoint}/before-stop", mib: 4, container);
        var device = Assert.Single(await Guest.MappedDevicesAsync("nbd", volume));
        var rbdNbd = await Guest.RbdNbdPidAsync(volume);

        // Act 1: the plugin stops as a container does: every process of it killed, its mount taken away
        await plugin.KillAsync();
        (await Guest.ExecAsync("kill", "-KILL", rbdNbd.ToString(CultureInfo.InvariantCulture))).EnsureSuccess();
        (await Guest.ExecAsync("umount", mountpoint)).EnsureSuccess();
        Assert.Empty(await Guest.MappedDevicesAsync("nbd", volume));

        // Act 2: the container writes meanwhile (its I/O waits in the kernel), then the plugin comes back
        var rcFile = $"/tmp/{volume}-during.rc";
        await Guest.Agent.SpawnAsync(KernelGuest.In(container, "sh", "-c",
            "dd if=/dev/urandom of=\"$1/during-outage\" bs=1M count=4 conv=fsync status=none; echo $? > \"$2\"", "sh", mountpoint, rcFile));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False((await Guest.ExecAsync("test", "-e", rcFile)).Succeeded, "the container's write finished while no rbd-nbd served the device");
        var clock = Stopwatch.StartNew();
        var restarted = await RestartAsync(plugin);
        var reattachedIn = clock.Elapsed;
        await KernelGuest.WaitUntilAsync(async () => (await Guest.ExecAsync("test", "-s", rcFile)).Succeeded, TimeSpan.FromSeconds(120),
            "the container's write to finish after the re-attach");
        output.WriteLine($"restart and re-attach {reattachedIn.TotalSeconds:0.0} s; the waiting write finished {clock.Elapsed.TotalSeconds:0.0} s after the restart began");

        // Assert: the write succeeded, on the same device, now served by a new rbd-nbd whose client the lease names
        Assert.Equal("0", (await Guest.ExecAsync("cat", rcFile)).EnsureSuccess().Stdout.Trim());
        Assert.Contains(restarted.Log, l => l.Contains("1 kept", StringComparison.Ordinal));
        Assert.Contains(restarted.Log, l => l.Contains("re-attached with a new client", StringComparison.Ordinal));
        Assert.Equal([device], await Guest.MappedDevicesAsync("nbd", volume));
        Assert.NotEqual(rbdNbd, await Guest.RbdNbdPidAsync(volume));
        Assert.Equal(device, await Guest.MountSourceAsync(mountpoint));
        // The killed rbd-nbd's watch may linger until the OSD times it out: it is recorded too, from the Mount.
        var writers = await LeaseWritersAsync(volume);
        Assert.Equal(2, writers.Count);
        Assert.All(await WatchersAsync(volume), w => Assert.Contains(w, writers));
        var during = await Guest.Sha256Async($"{mountpoint}/during-outage", container);

        // The container ends; the data is all there after a release and a new mapping
        (await Guest.ExecAsync("kill", "-KILL", container.ToString(CultureInfo.InvariantCulture))).EnsureSuccess();
        await restarted.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(restarted, volume);
        var again = await restarted.MountAsync(volume, IdA);
        Assert.Equal(before, await Guest.Sha256Async($"{again}/before-stop"));
        Assert.Equal(during, await Guest.Sha256Async($"{again}/during-outage"));
        Assert.Equal(1, restarted.FormatCount(volume)); // one log for both runs: one mkfs in all
        await restarted.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(restarted, volume);
    }

    private async Task<IReadOnlyList<string>> WatchersAsync(string volume)
    {
        var status = (await Guest.RbdAsync("status", "--format", "json", $"{KernelGuest.Pool}/{volume}")).EnsureSuccess().Stdout;
        using var doc = JsonDocument.Parse(status);
        return [.. doc.RootElement.GetProperty("watchers").EnumerateArray().Select(w => w.GetProperty("address").GetString()!)];
    }

    private async Task<IReadOnlyList<string>> LeaseWritersAsync(string volume)
    {
        var owner = (await Guest.RadosAsync("-p", KernelGuest.Pool, "getomapval", $"rbd-plugin.lease.{volume}", "owner", "/dev/stdout")).EnsureSuccess().Stdout;
        using var doc = JsonDocument.Parse(owner[owner.IndexOf('{', StringComparison.Ordinal)..(owner.LastIndexOf('}') + 1)]);
        return [.. doc.RootElement.GetProperty("writers").EnumerateArray().Select(w => w.GetString()!)];
    }
}
