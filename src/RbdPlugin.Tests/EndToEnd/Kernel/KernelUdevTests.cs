using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// krbd with udev running: the mapper detects it (its control socket answers) and lets rbd wait for udev's event
/// instead of passing noudev. (Every other Kernel test runs without udev, as inside a plugin container.)
/// </summary>
public sealed class KernelUdevTests(KernelGuest guest) : KernelTest(guest), IAsyncLifetime
{
    private int? _udevd;

    [Fact]
    public async Task Mount_WithUdevRunning_MapsWithoutNoudev_AndUdevMadeTheDeviceLink()
    {
        await StartUdevAsync();
        var plugin = await StartPluginAsync("krbd", extraArgs: ["--log-level", "debug"]);
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });

        var mountpoint = await plugin.MountAsync(volume, IdA);

        var map = Assert.Single(plugin.Log, l => l.Contains("rbd device map", StringComparison.Ordinal));
        Assert.Contains("noshare", map, StringComparison.Ordinal);
        Assert.DoesNotContain("noudev", map, StringComparison.Ordinal);
        // ceph-common's udev rule makes /dev/rbd/POOL/IMAGE: udev saw the device.
        Assert.True((await Guest.ExecAsync("test", "-b", $"/dev/rbd/{KernelGuest.Pool}/{volume}")).Succeeded);
        Assert.NotNull(await Guest.MountSourceAsync(mountpoint));
        await plugin.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(plugin, volume);
    }

    private async Task StartUdevAsync()
    {
        (await Guest.ExecAsync("test", "-x", "/lib/systemd/systemd-udevd")).EnsureSuccess();
        _udevd = await Guest.Agent.SpawnAsync(["/lib/systemd/systemd-udevd"]);
        await KernelGuest.WaitUntilAsync(async () => (await Guest.ExecAsync("test", "-S", "/run/udev/control")).Succeeded,
            TimeSpan.FromSeconds(60), "systemd-udevd to open /run/udev/control");
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (_udevd is { } pid)
        {
            await Guest.ExecAsync("kill", "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await KernelGuest.WaitUntilAsync(async () => !(await Guest.ExecAsync("test", "-e", "/run/udev/control")).Succeeded
                || !(await Guest.ExecAsync("test", "-d", $"/proc/{pid}")).Succeeded, TimeSpan.FromSeconds(30), "systemd-udevd to stop");
            await Guest.ExecAsync("rm", "-rf", "/run/udev");
        }
    }
}
