using Microsoft.Extensions.Logging.Abstractions;

namespace RbdPlugin.Node;

/// <summary>
/// Picks the block-device mapper from the --mapper setting. "auto" prefers the kernel client, then rbd-nbd, then
/// rbd-fuse + loop (the last resort: fine for development, not meant for production I/O). "auto" decides from what
/// is loaded now, so a production host should load the rbd module at boot (modules-load.d) or say --mapper=krbd.
/// </summary>
internal sealed class MapperSelector(
    ICommandRunner runner,
    CephClientArgs client,
    IHostProbe host,
    IMountTable mounts,
    string stateDir,
    TimeProvider? time = null)
{
    public const string RbdBusPath = "/sys/bus/rbd";
    public const string NbdModulePath = "/sys/module/nbd";
    public const string FuseDevicePath = "/dev/fuse";

    /// <summary>The mapper for the setting (auto|krbd|nbd|fuse); throws when it cannot work on this host.</summary>
    public IBlockMapper Select(string mapper) => Choose(mapper, host) switch
    {
        "krbd" => new KrbdMapper(runner, client, host),
        "nbd" => new NbdMapper(runner, client),
        _ => new FuseLoopMapper(runner, client, mounts, host, stateDir, time, NullLogger<FuseLoopMapper>.Instance),
    };

    /// <summary>
    /// Resolves a setting to "krbd", "nbd" or "fuse". An explicit choice is checked for the programs it needs (the
    /// rbd CLI loads the rbd module itself, so krbd needs only rbd); "auto" takes the first that is ready.
    /// </summary>
    public static string Choose(string mapper, IHostProbe host)
    {
        switch (mapper.Trim().ToLowerInvariant())
        {
            case "krbd":
                return host.HasProgram("rbd") ? "krbd"
                    : throw new InvalidOperationException("mapper krbd needs the rbd CLI: install ceph-common");
            case "nbd":
                return host.HasProgram("rbd") && host.HasProgram("rbd-nbd") ? "nbd"
                    : throw new InvalidOperationException("mapper nbd needs rbd and rbd-nbd: install ceph-common and rbd-nbd");
            case "fuse":
                return FuseReady(host) ? "fuse"
                    : throw new InvalidOperationException(
                        $"mapper fuse needs {FuseDevicePath}, rbd-fuse and losetup: install rbd-fuse and util-linux, and give the plugin /dev/fuse");
            case "auto":
                if (host.Exists(RbdBusPath) && host.HasProgram("rbd"))
                {
                    return "krbd";
                }
                if (host.Exists(NbdModulePath) && host.HasProgram("rbd") && host.HasProgram("rbd-nbd"))
                {
                    return "nbd";
                }
                if (FuseReady(host))
                {
                    return "fuse";
                }
                throw new InvalidOperationException(
                    "no block-device mapper works on this host: load the rbd kernel module (modprobe rbd; needs ceph-common), " +
                    "or load nbd (modprobe nbd) and install rbd-nbd, or install rbd-fuse and make /dev/fuse available");
            default:
                throw new ArgumentException($"unknown mapper '{mapper}': use auto, krbd, nbd or fuse", nameof(mapper));
        }
    }

    private static bool FuseReady(IHostProbe host) =>
        host.Exists(FuseDevicePath) && host.HasProgram("rbd-fuse") && host.HasProgram("losetup");
}
