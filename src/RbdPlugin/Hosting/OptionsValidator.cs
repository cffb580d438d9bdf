using System.Text.RegularExpressions;
using RbdPlugin.Volumes;

namespace RbdPlugin.Hosting;

/// <summary>Settings after validation, in the types the rest of the daemon uses.</summary>
internal sealed record ValidatedOptions(PluginOptions Raw, VolumeSettings Volumes, TimeSpan CephTimeout)
{
    /// <summary>The admin socket's path: AdminSocket, or StateDir/admin.sock when that is empty.</summary>
    public string AdminSocket => Raw.AdminSocket.Length > 0 ? Raw.AdminSocket : Path.Combine(Raw.StateDir, "admin.sock");
}

/// <summary>
/// Checks every setting at start and reports all problems at once, each naming the setting and the fix, so an
/// operator fixes the config in one pass instead of one restart per typo.
/// </summary>
internal static partial class OptionsValidator
{
    private static readonly string[] Mappers = ["auto", "krbd", "nbd", "fuse"];
    private static readonly string[] LogLevels = ["verbose", "debug", "information", "warning", "error"];

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,100}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();

    public static ValidatedOptions Validate(PluginOptions o, bool checkFiles = true)
    {
        var problems = new List<string>();
        void Check(bool ok, string problem)
        {
            if (!ok)
            {
                problems.Add(problem);
            }
        }

        if (checkFiles)
        {
            Check(File.Exists(o.CephConf), $"CephConf={o.CephConf}: file not found; copy the cluster's ceph.conf there or set --ceph-conf");
            Check(File.Exists(o.Keyring), $"Keyring={o.Keyring}: file not found; write it with `ceph auth get client.{o.CephId} -o {o.Keyring}` (mode 0600) or set --keyring");
            if (o.EncryptionKeyFile.Length > 0 && Path.IsPathFullyQualified(o.EncryptionKeyFile) && KeyEncryptionKey.ProblemOf(o.EncryptionKeyFile) is { } keyProblem)
            {
                problems.Add(keyProblem);
            }
        }

        Check(o.EncryptionKeyFile.Length == 0 || Path.IsPathFullyQualified(o.EncryptionKeyFile),
            $"EncryptionKeyFile={o.EncryptionKeyFile}: must be an absolute path, or empty for none");

        Check(SafeName().IsMatch(o.CephId) && !o.CephId.StartsWith("client.", StringComparison.Ordinal),
            $"CephId={o.CephId}: give the id without 'client.', e.g. docker");
        Check(SafeName().IsMatch(o.Pool), $"Pool={o.Pool}: not a valid pool name");
        Check(o.Namespace.Length == 0 || SafeName().IsMatch(o.Namespace), $"Namespace={o.Namespace}: not a valid RADOS namespace name");
        foreach (var pool in o.AllowedPools.Where(p => !SafeName().IsMatch(p)))
        {
            problems.Add($"AllowedPools: '{pool}' is not a valid pool name");
        }

        Check(ByteSize.TryParse(o.DefaultSize, out var defaultSize), $"DefaultSize={o.DefaultSize}: write a size such as 10G");
        Check(ByteSize.TryParse(o.MaxSize, out var maxSize), $"MaxSize={o.MaxSize}: write a size such as 64T");
        Check(defaultSize <= maxSize || maxSize == 0, $"DefaultSize={o.DefaultSize} is larger than MaxSize={o.MaxSize}");
        Check(FsOptions.FsTypes.Contains(o.DefaultFsType), $"DefaultFsType={o.DefaultFsType}: use ext4 or xfs");
        Check(Mappers.Contains(o.Mapper), $"Mapper={o.Mapper}: use one of {string.Join(", ", Mappers)}");
        Check(Path.IsPathFullyQualified(o.MountRoot), $"MountRoot={o.MountRoot}: must be an absolute path");
        Check(Path.IsPathFullyQualified(o.StateDir), $"StateDir={o.StateDir}: must be an absolute path");
        Check(Enum.TryParse<RemoveAction>(o.RemoveAction, ignoreCase: true, out var removeAction),
            $"RemoveAction={o.RemoveAction}: use trash, delete or keep");
        Check(Duration.TryParse(o.TrashExpiry, out var trashExpiry), $"TrashExpiry={o.TrashExpiry}: write a duration such as 7d");
        Check(Duration.TryParse(o.UnmountGrace, out var grace), $"UnmountGrace={o.UnmountGrace}: write a duration such as 2s");
        Check(Duration.TryParse(o.UnusedMountTimeout, out var unusedTimeout) && (unusedTimeout == TimeSpan.Zero || unusedTimeout >= TimeSpan.FromSeconds(1)),
            $"UnusedMountTimeout={o.UnusedMountTimeout}: write a duration of at least 1s such as 5m, or 0s to never release a volume Docker did not unmount");
        Check(Duration.TryParse(o.CephTimeout, out var cephTimeout) && cephTimeout >= TimeSpan.FromSeconds(1) && cephTimeout <= TimeSpan.FromSeconds(30),
            $"CephTimeout={o.CephTimeout}: write a duration between 1s and 30s (a call in flight may take twice that, and Docker gives up on most requests after 60s)");
        Check(Duration.TryParse(o.LeaseDuration, out var leaseDuration) && leaseDuration >= TimeSpan.FromSeconds(3) && leaseDuration <= TimeSpan.FromMinutes(10),
            $"LeaseDuration={o.LeaseDuration}: write a duration between 3s and 10m, such as 30s");
        // Two renewals (one every sixth of the lease), each allowed a whole CephTimeout, must fit in one lease: else a
        // slow but healthy cluster lets leases lapse and another host takes the volumes over.
        Check(leaseDuration == TimeSpan.Zero || cephTimeout == TimeSpan.Zero || leaseDuration >= 2 * (cephTimeout + LeaseRenewer.IntervalOf(leaseDuration)),
            $"LeaseDuration={o.LeaseDuration} is too short for CephTimeout={o.CephTimeout}: two renewals (every sixth of the lease) that may each " +
            $"take CephTimeout must fit in one lease; use LeaseDuration of at least {3 * cephTimeout.TotalSeconds:0.#}s or a shorter CephTimeout");
        Check(Duration.TryParse(o.FenceExpiry, out var fenceExpiry) && (fenceExpiry == TimeSpan.Zero || (fenceExpiry >= TimeSpan.FromHours(1) && fenceExpiry <= LeaseFencer.UntilUnfenced)),
            $"FenceExpiry={o.FenceExpiry}: write 0s (fenced until `rbd-plugin host unfence`), or a duration between 1h and 3650d; a frozen host that outlives it can write again");
        var leaseWait = grace + TimeSpan.FromSeconds(5);
        Check(o.LeaseWait.Length == 0 || (Duration.TryParse(o.LeaseWait, out leaseWait) && leaseWait <= TimeSpan.FromSeconds(50)),
            $"LeaseWait={o.LeaseWait}: write a duration up to 50s such as 7s (Docker gives up on a Mount after 60s), or leave it empty");
        Check(o.Socket.Length > 0 || o.TcpListen.Length > 0, "Socket and TcpListen are both empty: Docker could not reach the plugin; set --socket");
        Check(o.Socket.Length == 0 || Path.IsPathFullyQualified(o.Socket), $"Socket={o.Socket}: must be an absolute path");
        Check(o.AdminSocket.Length == 0 || Path.IsPathFullyQualified(o.AdminSocket), $"AdminSocket={o.AdminSocket}: must be an absolute path");
        Check(o.AdminSocket.Length == 0 || o.AdminSocket != o.Socket, $"AdminSocket={o.AdminSocket} is Docker's Socket too; give it its own path");
        Check(LogLevels.Contains(o.LogLevel.ToLowerInvariant()), $"LogLevel={o.LogLevel}: use one of {string.Join(", ", LogLevels)}");
        Check(o.LogFormat is "text" or "json", $"LogFormat={o.LogFormat}: use text or json");

        var hostId = o.HostId.Length > 0 ? o.HostId : Environment.MachineName;
        Check(SafeName().IsMatch(hostId), $"HostId={hostId}: use letters, digits, '_', '.', '-'");

        if (problems.Count > 0)
        {
            throw new OptionsException(problems);
        }

        var volumes = new VolumeSettings
        {
            Pool = o.Pool,
            Namespace = o.Namespace,
            AllowedPools = o.AllowedPools.Prepend(o.Pool).Distinct(StringComparer.Ordinal).ToList(),
            DefaultSizeBytes = defaultSize,
            MaxSizeBytes = maxSize,
            DefaultFsType = o.DefaultFsType,
            MountRoot = o.MountRoot,
            StateDir = o.StateDir,
            RemoveAction = removeAction,
            TrashExpiry = trashExpiry,
            UnmountGrace = grace,
            UnusedMountTimeout = unusedTimeout,
            HostId = hostId,
            LeaseDuration = leaseDuration,
            LeaseWait = leaseWait,
            FenceExpiry = fenceExpiry,
            EncryptionKeyFile = o.EncryptionKeyFile.Length > 0 ? o.EncryptionKeyFile : null,
        };
        return new ValidatedOptions(o, volumes, cephTimeout);
    }
}
