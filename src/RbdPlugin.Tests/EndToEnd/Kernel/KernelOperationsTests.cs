using System.Globalization;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// What the runbook CLI asks of the daemon that has a volume mounted, on the real mappers: an online resize that
/// the filesystem sees (krbd follows the image size by itself; rbd-nbd, mapped through netlink, is re-attached to
/// take it), and a snapshot of a mounted volume
/// taken inside a freeze, so that data still only in the page cache is in it.
/// </summary>
public sealed class KernelOperationsTests(KernelGuest guest) : KernelTest(guest)
{
    public static TheoryData<string> Mappers => ["krbd", "nbd"];

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task Resize_MountedXfs_TheDeviceAndTheFilesystemGrowOnline(string mapper)
    {
        var plugin = await StartPluginAsync(mapper);
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G", ["fstype"] = "xfs" });
        var mountpoint = await plugin.MountAsync(volume, IdA);
        var device = Assert.Single(await Guest.MappedDevicesAsync(mapper, volume));
        var before = await FilesystemBytesAsync(mountpoint);
        var written = await Guest.WriteRandomAsync($"{mountpoint}/kept", mib: 2);

        var resize = await plugin.CliAsync("volume", "resize", volume, "2G", "--json");

        resize.EnsureSuccess();
        Assert.Equal("grown", JsonDocument.Parse(resize.Stdout).RootElement.GetProperty("filesystem").GetString());
        Assert.Equal(2L << 30, await DeviceBytesAsync(device));
        var after = await FilesystemBytesAsync(mountpoint);
        Assert.True(after > before + (900L << 20), $"xfs was {before} bytes, is {after} after growing the image by 1 GiB");
        Assert.Equal(device, await Guest.MountSourceAsync(mountpoint)); // still the same mount: online
        Assert.Equal(written, await Guest.Sha256Async($"{mountpoint}/kept"));
        await plugin.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(plugin, volume);
    }

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task SnapshotCreate_MountedVolume_FrozenAndThawed_SnapshotHoldsWhatWasOnlyCached(string mapper)
    {
        var plugin = await StartPluginAsync(mapper);
        var volume = NewVolume();
        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });
        var mountpoint = await plugin.MountAsync(volume, IdA);
        // No fsync: only the freeze writes this out before the snapshot.
        (await Guest.ExecAsync("dd", "if=/dev/urandom", $"of={mountpoint}/cached", "bs=1M", "count=2", "status=none")).EnsureSuccess();
        var cached = await Guest.Sha256Async($"{mountpoint}/cached");

        var snap = await plugin.CliAsync("snapshot", "create", volume, "s1", "--json");

        snap.EnsureSuccess();
        Assert.Contains(plugin.Log, l => l.Contains($"Snapshot \\\"{volume}\\\"@\\\"s1\\\"", StringComparison.Ordinal) && l.Contains("was frozen for", StringComparison.Ordinal));
        await Guest.WriteRandomAsync($"{mountpoint}/after-thaw"); // thawed: writes go on
        var inSnapshot = (await Guest.ShAsync("""
            dev=$(rbd -c "$1" --id "$2" --keyring "$3" device map -t krbd -o noudev,noshare,ro "$4")
            trap 'umount /mnt/snap-check 2>/dev/null; rbd -c "$1" --id "$2" --keyring "$3" device unmap -t krbd -o noudev "$dev"' EXIT
            mkdir -p /mnt/snap-check
            mount -o ro,noload "$dev" /mnt/snap-check
            sha256sum /mnt/snap-check/cached | cut -d' ' -f1
            """, KernelGuest.CephConf, KernelGuest.ClientId, KernelGuest.Keyring, $"{KernelGuest.Pool}/{volume}@s1")).EnsureSuccess().Stdout.Trim();
        Assert.Equal(cached, inSnapshot);
        await plugin.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(plugin, volume);
    }

    private async Task<long> FilesystemBytesAsync(string mountpoint) =>
        long.Parse((await Guest.ExecAsync("findmnt", "-n", "-b", "-o", "SIZE", "--mountpoint", mountpoint)).EnsureSuccess().Stdout.Trim(), CultureInfo.InvariantCulture);

    private async Task<long> DeviceBytesAsync(string device) =>
        long.Parse((await Guest.ExecAsync("blockdev", "--getsize64", device)).EnsureSuccess().Stdout.Trim(), CultureInfo.InvariantCulture);
}
