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
    TimeProvider time,
    ILogger<FuseLoopMapper> fuseLogger)
{
    public const string RbdBusPath = "/sys/bus/rbd";
    public const string NbdModulePath = "/sys/module/nbd";
    public const string FuseDevicePath = "/dev/fuse";

    /// <summary>The mapper for the setting (auto|krbd|nbd|fuse); throws when it cannot work on this host.</summary>
    public IBlockMapper Select(string mapper) => Create(Choose(mapper, host));

    /// <summary>The mapper of that name ("krbd", "nbd" or "fuse"), whether or not it would work here now: journal
    /// entries made with a mapper are released with it, even after the setting changed.</summary>
    public IBlockMapper Create(string name) => name switch
    {
        "krbd" => new KrbdMapper(runner, client, host),
        "nbd" => new NbdMapper(runner, client, host),
        "fuse" => new FuseLoopMapper(runner, client, mounts, host, stateDir, time, fuseLogger),
        _ => throw new ArgumentException($"unknown mapper '{name}': use krbd, nbd or fuse", nameof(name)),
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
                return Missing("fuse", host).Count == 0 ? "fuse"
                    : throw new InvalidOperationException(
                        $"mapper fuse needs {FuseDevicePath}, rbd-fuse and losetup: install rbd-fuse and mount (losetup; util-linux before Debian 12), and give the plugin /dev/fuse");
            case "auto":
                return Mappers.FirstOrDefault(m => Missing(m, host).Count == 0) ?? throw new InvalidOperationException(
                    "no block-device mapper works on this host: load the rbd kernel module (modprobe rbd; needs ceph-common), " +
                    "or load nbd (modprobe nbd) and install rbd-nbd, or install rbd-fuse and make /dev/fuse available");
            default:
                throw new ArgumentException($"unknown mapper '{mapper}': use auto, krbd, nbd or fuse", nameof(mapper));
        }
    }

    /// <summary>
    /// Advice when "auto" settled for rbd-fuse + loop on a host that has the rbd CLI (ceph-common): a production host
    /// almost never wants that, and the cause is usually a kernel module not loaded at boot. Null otherwise.
    /// </summary>
    public static string? FallbackAdvice(string mapper, string chosen, IHostProbe host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return mapper.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) && chosen == "fuse" && host.HasProgram("rbd")
            ? "Mapper=auto fell back to rbd-fuse + loop (meant for development and CI) on a host with ceph-common: " +
              $"load the rbd module at boot (`echo rbd > /etc/modules-load.d/rbd.conf`, then `modprobe rbd`; krbd: {string.Join(", ", Missing("krbd", host))}) " +
              "and restart the plugin, or set Mapper=krbd (or nbd) so a missing module fails loudly; on a development host set Mapper=fuse to silence this"
            : null;
    }

    /// <summary>The mappers "auto" tries, in its order of preference.</summary>
    public static IReadOnlyList<string> Mappers { get; } = ["krbd", "nbd", "fuse"];

    /// <summary>
    /// What the mapper lacks on this host now, each with its fix; empty = "auto" would take it. Stricter than an
    /// explicit choice of krbd, which only needs the rbd CLI (it loads the module itself).
    /// </summary>
    public static IReadOnlyList<string> Missing(string mapper, IHostProbe host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var missing = new List<string>();
        void Need(bool present, string what)
        {
            if (!present)
            {
                missing.Add(what);
            }
        }

        switch (mapper)
        {
            case "krbd":
                Need(host.Exists(RbdBusPath), $"the rbd kernel module ({RbdBusPath}): modprobe rbd");
                Need(host.HasProgram("rbd"), "the rbd CLI: install ceph-common");
                break;
            case "nbd":
                Need(host.Exists(NbdModulePath), $"the nbd kernel module ({NbdModulePath}): modprobe nbd");
                Need(host.HasProgram("rbd"), "the rbd CLI: install ceph-common");
                Need(host.HasProgram("rbd-nbd"), "rbd-nbd: install rbd-nbd");
                break;
            case "fuse":
                Need(host.Exists(FuseDevicePath), $"{FuseDevicePath}: give the plugin the fuse device");
                Need(host.HasProgram("rbd-fuse"), "rbd-fuse: install rbd-fuse");
                Need(host.HasProgram("losetup"), "losetup: install mount (Debian 12 and later; util-linux before)");
                break;
            default:
                throw new ArgumentException($"unknown mapper '{mapper}': use krbd, nbd or fuse", nameof(mapper));
        }

        return missing;
    }
}
