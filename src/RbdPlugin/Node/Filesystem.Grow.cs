namespace RbdPlugin.Node;

/// <summary>
/// Growing a filesystem to its (already grown) device: online while mounted (resize2fs, xfs_growfs), and for ext4 also
/// offline before a mount, which needs no capability beyond opening the device. The online ext4 grow goes through an
/// ioctl that checks CAP_SYS_RESOURCE, and xfs_growfs one that checks CAP_SYS_ADMIN: a daemon without them (a
/// sandbox, a managed plugin not granted them) gets only "Permission denied" or "Operation not permitted".
/// </summary>
internal sealed partial class Filesystem
{
    /// <summary>resize2fs of a mounted ext4 by a process without CAP_SYS_RESOURCE: "resize2fs: Permission denied to
    /// resize filesystem" (resize2fs's words for the ioctl's EPERM).</summary>
    public const string PermissionDeniedText = "Permission denied";

    /// <summary>strerror(EPERM), as xfs_growfs and the other tools print it.</summary>
    public const string NotPermittedText = "Operation not permitted";

    /// <summary>Grows the mounted filesystem to the size of its (already resized) device.</summary>
    public async Task GrowAsync(string device, string mountpoint, string fsType, CancellationToken ct)
    {
        // resize2fs DEVICE       (online grow of a mounted ext4)
        // xfs_growfs MOUNTPOINT  (xfs grows through its mount point only)
        var (program, target) = fsType switch
        {
            "ext4" => ("resize2fs", device),
            "xfs" => ("xfs_growfs", mountpoint),
            _ => throw new ArgumentException($"unsupported filesystem '{fsType}': use ext4 or xfs", nameof(fsType)),
        };
        var result = await runner.TryRunAsync(program, [target], ct);
        if (result.Succeeded)
        {
            return;
        }

        throw result.Stderr.Contains(PermissionDeniedText, StringComparison.Ordinal) || result.Stderr.Contains(NotPermittedText, StringComparison.Ordinal)
            ? GrowRefused(device, fsType, program)
            : HostCommandException.FromExit(program, [target], result);
    }

    public async Task<(ulong Before, ulong After)> GrowToDeviceAsync(string device, string mountpoint, string fsType, ulong minimumGap, CancellationToken ct)
    {
        var before = FilesystemSize(device, fsType);
        if (_host.BlockDeviceSize(device) < before + minimumGap)
        {
            return (before, before);
        }

        await GrowAsync(device, mountpoint, fsType, ct);
        var after = FilesystemSize(device, fsType);
        LogGrown(mountpoint, fsType, before, after);
        return (before, after);
    }

    public async Task<(ulong Before, ulong After)> GrowUnmountedAsync(string device, string fsType, ulong minimumGap, CancellationToken ct)
    {
        var before = fsType == "ext4" ? FilesystemSize(device, fsType) : 0;
        if (fsType != "ext4" || _host.BlockDeviceSize(device) < before + minimumGap)
        {
            return (before, before);
        }

        // e2fsck -f -p DEVICE   (resize2fs grows an unmounted ext4 only after a forced check; -p repairs only what is
        //                        safe without asking; exit 1 = "errors corrected", still fine to resize)
        var check = await runner.TryRunAsync("e2fsck", ["-f", "-p", device], ct);
        if (check.ExitCode is not (0 or 1))
        {
            throw HostCommandException.FromExit("e2fsck", ["-f", "-p", device], check);
        }

        // resize2fs DEVICE   (offline: no ioctl, so no CAP_SYS_RESOURCE)
        await runner.RunAsync("resize2fs", [device], ct);
        var after = FilesystemSize(device, fsType);
        LogGrown(device, fsType, before, after);
        return (before, after);
    }

    /// <summary>What is missing, what the volume looks like now, and how it gets its size.</summary>
    private HostCommandException GrowRefused(string device, string fsType, string program)
    {
        var (capability, next) = fsType == "ext4"
            ? ("CAP_SYS_RESOURCE", "the next mount of the volume grows it (offline, before mounting, which needs no capability)")
            : ("CAP_SYS_ADMIN", "the next mount grows it once the daemon has CAP_SYS_ADMIN (mounting needs it too)");
        string now;
        try
        {
            now = $"the image and its device {device} are {_host.BlockDeviceSize(device) >> 20} MiB now, but the filesystem is still " +
                $"{FilesystemSize(device, fsType) >> 20} MiB";
        }
        catch (Exception e) when (e is HostCommandException or IOException or UnauthorizedAccessException)
        {
            now = $"the image and its device {device} are grown, but the filesystem keeps its old size";
        }

        return new HostCommandException(
            $"{program} was refused (Permission denied): growing a mounted {fsType} filesystem needs the {capability} capability, which the " +
            $"rbd-plugin daemon does not have. State: {now}; the volume stays usable at that size. Then: {next}; or give the daemon " +
            $"{capability} (its systemd unit, or the managed plugin's capabilities) and run `rbd-plugin volume resize` again to grow it now");
    }
}
