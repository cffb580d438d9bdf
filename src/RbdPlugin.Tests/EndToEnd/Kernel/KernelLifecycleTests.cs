using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// The Cluster tier's lifecycle with the real production mappers: krbd and rbd-nbd on Debian's stock kernel, no
/// udev (as inside a plugin container), the daemon as it ships, driven over Docker's protocol.
/// </summary>
public sealed class KernelLifecycleTests(KernelGuest guest) : KernelTest(guest)
{
    public static TheoryData<string> Mappers => ["krbd", "nbd"];

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task Mount_FormatsOnce_UnmountReleasesTheMapping_RemountSeesTheData(string mapper)
    {
        var plugin = await StartPluginAsync(mapper);
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });

        var mountpoint = await plugin.MountAsync(volume, IdA);
        var device = Assert.Single(await Guest.MappedDevicesAsync(mapper, volume));
        Assert.Equal(device, await Guest.MountSourceAsync(mountpoint));
        Assert.StartsWith(mapper == "krbd" ? "/dev/rbd" : "/dev/nbd", device, StringComparison.Ordinal);
        var written = await Guest.WriteRandomAsync($"{mountpoint}/data.bin", mib: 4);
        await plugin.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(plugin, volume);

        var again = await plugin.MountAsync(volume, IdB);

        Assert.Equal(written, await Guest.Sha256Async($"{again}/data.bin"));
        Assert.Equal(1, plugin.FormatCount(volume));
        await plugin.UnmountAsync(volume, IdB);
        await WaitReleasedAsync(plugin, volume);
    }

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task TwoMountIds_UnmountOfOne_KeepsTheOtherMountedAndWritable(string mapper)
    {
        var plugin = await StartPluginAsync(mapper);
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });
        var a = await plugin.MountAsync(volume, IdA);
        var b = await plugin.MountAsync(volume, IdB);
        Assert.Equal(a, b);

        await plugin.UnmountAsync(volume, IdA);
        await Task.Delay(1500); // well past the 200 ms grace

        Assert.NotNull(await Guest.MountSourceAsync(a));
        await Guest.WriteRandomAsync($"{a}/still-writable");
        Assert.Single(await Guest.MappedDevicesAsync(mapper, volume));
        await plugin.UnmountAsync(volume, IdB);
        await WaitReleasedAsync(plugin, volume);
    }

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task KillMinus9BetweenMountAndUnmount_RestartReconciles_UnmountReleasesTheMapping(string mapper)
    {
        var plugin = await StartPluginAsync(mapper);
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });
        var mountpoint = await plugin.MountAsync(volume, IdA);
        var written = await Guest.WriteRandomAsync($"{mountpoint}/before-crash");

        await plugin.KillAsync();

        // A crash of the plugin is not an unmount: the mount, the mapping (and rbd-nbd's daemon) stay and serve I/O.
        Assert.NotNull(await Guest.MountSourceAsync(mountpoint));
        Assert.Single(await Guest.MappedDevicesAsync(mapper, volume));
        await Guest.WriteRandomAsync($"{mountpoint}/while-down");
        var restarted = await RestartAsync(plugin);
        Assert.Contains(restarted.Log, l => l.Contains("1 kept", StringComparison.Ordinal));
        var info = await restarted.GetAsync(volume);
        Assert.Equal(mountpoint, info!.Value.GetProperty("Mountpoint").GetString());
        Assert.Equal(written, await Guest.Sha256Async($"{mountpoint}/before-crash"));

        await restarted.UnmountAsync(volume, IdA);

        await WaitReleasedAsync(restarted, volume);
        await restarted.RemoveAsync(volume);
        Assert.Null(await restarted.GetAsync(volume));
    }

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task Remove_WhileMounted_RefusedAndTheVolumeStaysMounted(string mapper)
    {
        var plugin = await StartPluginAsync(mapper);
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });
        var mountpoint = await plugin.MountAsync(volume, IdA);

        var e = await Assert.ThrowsAsync<PluginErrorException>(() => plugin.RemoveAsync(volume));

        Assert.Contains("in use", e.Err, StringComparison.Ordinal);
        Assert.NotNull(await Guest.MountSourceAsync(mountpoint));
        Assert.Single(await Guest.MappedDevicesAsync(mapper, volume));
        Assert.NotNull(await plugin.GetAsync(volume));
        await plugin.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(plugin, volume);
        await plugin.RemoveAsync(volume);
    }
}
