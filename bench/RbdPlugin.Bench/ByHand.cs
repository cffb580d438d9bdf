using System.Diagnostics;

namespace RbdPlugin.Bench;

/// <summary>An image mapped by hand: its rbd-fuse directory, loop device and (once mounted) mountpoint.</summary>
internal sealed record HandMapping(string Image, string FuseDir, string Device, string Mountpoint);

/// <summary>
/// The baseline for the data plane: the same mapper the plugin uses here (rbd-fuse + loop), the same mkfs flags,
/// done the shortest way a person would script it, with nothing the plugin adds (no probe, no journal, no lock).
/// Everything lives under WORK/hand.
/// </summary>
internal sealed class ByHand(CephTarget ceph, string root, IReadOnlyList<string> mkfsFlags)
{
    public string Root { get; } = root;

    /// <summary>
    /// rbd-fuse -c CONF -p POOL -r IMAGE DIR with --rbd_cache=false in CEPH_ARGS (as the plugin's fuse mapper runs
    /// it, so that an fsync rbd-fuse acknowledges is durable), wait for DIR/IMAGE, losetup --find --show --direct-io=on.
    /// </summary>
    public async Task<HandMapping> MapAsync(string image)
    {
        var dir = Path.Combine(Root, "fuse", image);
        Directory.CreateDirectory(dir);
        await Tool.RunAsync("rbd-fuse", ["-c", ceph.Conf, "-p", ceph.Pool, "-r", image, dir], extraCephArgs: "--rbd_cache=false");
        var file = Path.Combine(dir, image);
        var sw = Stopwatch.StartNew();
        while (!File.Exists(file))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"rbd-fuse did not show {file}");
            }

            await Task.Delay(1);
        }

        var loop = await Tool.RunAsync("losetup", ["--find", "--show", "--direct-io=on", file], cephEnv: false);
        return new HandMapping(image, dir, loop.Stdout.Trim(), Path.Combine(Root, "mnt", image));
    }

    /// <summary>mkfs.ext4 with the plugin's flags (read from src/RbdPlugin/Node/Filesystem.cs).</summary>
    public Task MkfsAsync(HandMapping m) => Tool.RunAsync("mkfs.ext4", [.. mkfsFlags, m.Device], cephEnv: false);

    public static async Task MountAsync(HandMapping m)
    {
        Directory.CreateDirectory(m.Mountpoint);
        await Tool.RunAsync("mount", ["-t", "ext4", m.Device, m.Mountpoint], cephEnv: false);
    }

    /// <summary>umount MOUNTPOINT; losetup -d DEVICE; umount FUSEDIR (retried while the loop lets go).</summary>
    public static async Task UnmountAsync(HandMapping m)
    {
        await Tool.RunAsync("umount", [m.Mountpoint], cephEnv: false);
        await Tool.RunAsync("losetup", ["-d", m.Device], cephEnv: false);
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var r = await Tool.TryRunAsync("umount", [m.FuseDir], cephEnv: false);
            if (r.ExitCode == 0)
            {
                return;
            }

            if (!r.Stderr.Contains("busy", StringComparison.Ordinal) || sw.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"umount {m.FuseDir}: {r.Stderr.Trim()}");
            }

            await Task.Delay(1);
        }
    }

    /// <summary>
    /// The flags the plugin passes to mkfs.ext4: -q -E nodiscard,lazy_itable_init=1,lazy_journal_init=1, plus
    /// assume_storage_prezeroed=1 when mke2fs is 1.47 or newer (the plugin asks `mke2fs -V` the same way).
    /// </summary>
    public static async Task<IReadOnlyList<string>> PluginMkfsFlagsAsync()
    {
        var v = await Tool.TryRunAsync("mke2fs", ["-V"], cephEnv: false);
        var words = (v.Stderr + " " + v.Stdout).Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var version = words.SkipWhile(w => w != "mke2fs").Skip(1).FirstOrDefault();
        var zeroed = version is not null && Version.TryParse(version.Split('-')[0], out var parsed) && parsed >= new Version(1, 47);
        return ["-q", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1" + (zeroed ? ",assume_storage_prezeroed=1" : "")];
    }
}
