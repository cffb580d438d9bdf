namespace RbdPlugin.Node;

/// <summary>
/// blkid, mkfs.ext4/mkfs.xfs, mount, umount, resize2fs/xfs_growfs. The one rule that matters most lives here:
/// mkfs never runs over data (invariant 2). The probe never turns an error into "empty", and <see cref="MakeAsync"/>
/// first reads the device's ends directly (an I/O error there is one blkid would have hidden) and wants zeros in
/// them, then probes again itself right before mkfs instead of trusting its caller or the mkfs tools: mke2fs 1.47 formats a
/// device holding a DOS partition table without a word when stdin is not a terminal (checked on this project's
/// hosts). mkfs is also never forced (no -F/-f), which makes mkfs.xfs refuse on its own as a second line.
/// </summary>
internal sealed partial class Filesystem(
    ICommandRunner runner,
    IMountTable mounts,
    IHostProbe host,
    ILogger<Filesystem> logger) : IFilesystem
{
    /// <summary>blkid's exit code when the probe found no signature at all (and, silently, when the device is missing).</summary>
    public const int BlkidNothingFound = 2;

    /// <summary>How much of the device's start must read back, as zeros, before mkfs: ext4 and xfs headers, partition
    /// tables, LVM and LUKS headers all live in the first MiB; 4 covers an ext4 group descriptor table too.</summary>
    public const int HeadCheckBytes = 4 << 20;

    /// <summary>How much of the device's end must read back, as zeros, before mkfs: a backup GPT header, an md 0.90/1.0
    /// superblock and ZFS's last labels live there.</summary>
    public const int TailCheckBytes = 1 << 20;

    /// <summary>umount of a directory that is not a mount point: "umount: DIR: not mounted.".</summary>
    public const string NotMountedText = "not mounted";

    private readonly ILogger _logger = logger;
    private readonly IHostProbe _host = host;
    private bool? _mke2fsAssumesZeroed; // probed once; two racing first probes just agree on the same answer

    public async Task<string?> ProbeAsync(string device, CancellationToken ct)
    {
        // blkid exits 2, silently, for a device that does not exist, exactly as for an empty one: so ask first.
        if (!_host.Exists(device))
        {
            throw new HostCommandException($"cannot probe {device}: no such device");
        }
        // blkid -p -o export DEVICE   (low-level probe: superblocks and partition tables, no cache)
        IReadOnlyList<string> args = ["-p", "-o", "export", device];
        var result = await runner.TryRunAsync("blkid", args, ct);
        if (result.ExitCode == BlkidNothingFound && result.Stderr.Trim().Length == 0)
        {
            return null;
        }
        // Anything else that is not success (4 = usage/IO error, 8 = ambivalent: several signatures) is an error,
        // never "empty".
        return result.Succeeded ? BlkidExport.Signature(result.Stdout) : throw HostCommandException.FromExit("blkid", args, result);
    }

    public async Task<bool> IsBlankAsync(string device, CancellationToken ct)
    {
        var (head, tail) = ReadEnds(device);
        return await ProbeAsync(device, ct) is null && FirstNonZero(head.Bytes, head.Offset) is null && FirstNonZero(tail.Bytes, tail.Offset) is null;
    }

    public async Task MakeAsync(string device, string fsType, IReadOnlyList<string> extraOptions, CancellationToken ct, bool zeroed = true)
    {
        if (fsType is not ("ext4" or "xfs"))
        {
            throw new ArgumentException($"unsupported filesystem '{fsType}': use ext4 or xfs", nameof(fsType));
        }
        // Invariant 2, enforced where mkfs runs. First the device must read back at all: blkid answers an I/O error
        // exactly as it answers an empty device (exit 2, no output), so its "nothing found" means nothing until the
        // bytes it would have looked at have been read without error.
        var (head, tail) = ReadEnds(device);
        // Whatever the caller probed earlier, look again now.
        if (await ProbeAsync(device, ct) is { } found)
        {
            throw new DeviceNotBlankException($"refusing to make a filesystem on {device}: it already carries a '{found}' signature");
        }

        // No signature, and yet not blank: a damaged superblock, a format blkid does not know, raw data. A device
        // the plugin never formatted reads as zeros (a new image, or a clone of one), and the lazy-init flags below
        // rely on exactly that.
        // A crypt device is the exception: its fresh cleartext is noise (the caller wrote the LUKS header over zeros
        // itself), and then nothing below relies on zeros.
        if (zeroed && (FirstNonZero(head.Bytes, head.Offset) ?? FirstNonZero(tail.Bytes, tail.Offset)) is { } at)
        {
            throw new DeviceNotBlankException(
                $"refusing to make a filesystem on {device}: blkid finds no signature on it, but byte {at} is not zero, so it holds data blkid cannot name (a damaged filesystem?); nothing was formatted");
        }
        switch (fsType)
        {
            case "ext4":
                var assumeZeroed = zeroed && await Mke2fsAssumesZeroedAsync(ct);
                // mkfs.ext4 -q -E nodiscard,lazy_itable_init=1,lazy_journal_init=1[,assume_storage_prezeroed=1] [EXTRA...] DEVICE
                // (a crypt device: -E nodiscard,lazy_itable_init=1, the journal zeroed by mkfs)
                await runner.RunAsync("mkfs.ext4", MkfsArgs(fsType, device, extraOptions, assumeZeroed, zeroed), ct);
                break;
            case "xfs":
                // mkfs.xfs -q -K [EXTRA...] DEVICE
                await runner.RunAsync("mkfs.xfs", MkfsArgs(fsType, device, extraOptions, assumeZeroed: false), ct);
                break;
            default:
                throw new ArgumentException($"unsupported filesystem '{fsType}': use ext4 or xfs", nameof(fsType));
        }
    }

    public async Task MountAsync(string device, string mountpoint, string fsType, IReadOnlyList<string> options, CancellationToken ct)
    {
        var existing = mounts.Read().Where(m => m.MountPoint == mountpoint).ToList();
        if (existing.Any(m => SameDevice(m.Source, device)))
        {
            return;
        }
        if (existing.Count > 0)
        {
            throw new InvalidOperationException(
                $"{mountpoint} already has {existing[^1].Source} mounted on it, not {device}: refusing to mount over it");
        }
        if (!OperatingSystem.IsWindows())
        {
            // Root only, made so (no moment of a wider mode), and tightened if an older version left it 0755: nothing
            // is mounted on it here, so the chmod touches the directory, not a volume's data (MountRoot.cs says why).
            Directory.CreateDirectory(Path.GetDirectoryName(mountpoint)!, MountRoot.PrivateMode); // MountRoot, if it went missing
            Directory.CreateDirectory(mountpoint, MountRoot.PrivateMode);
            MountRoot.Tighten(mountpoint);
        }
        // mount -t FSTYPE [-o OPTS] DEVICE MOUNTPOINT
        await runner.RunAsync("mount", MountArgs(device, mountpoint, fsType, options), ct);
    }

    public async Task UnmountAsync(string mountpoint, CancellationToken ct)
    {
        if (!mounts.Read().Any(m => m.MountPoint == mountpoint))
        {
            return;
        }
        // umount MOUNTPOINT
        var result = await runner.TryRunAsync("umount", [mountpoint], ct);
        if (!result.Succeeded && !result.Stderr.Contains(NotMountedText, StringComparison.Ordinal))
        {
            throw HostCommandException.FromExit("umount", [mountpoint], result);
        }
    }

    public async Task DetachAsync(string mountpoint, CancellationToken ct)
    {
        if (!mounts.Read().Any(m => m.MountPoint == mountpoint))
        {
            return;
        }
        // umount -l MOUNTPOINT
        var result = await runner.TryRunAsync("umount", ["-l", mountpoint], ct);
        if (!result.Succeeded && !result.Stderr.Contains(NotMountedText, StringComparison.Ordinal))
        {
            throw HostCommandException.FromExit("umount", ["-l", mountpoint], result);
        }
    }

    public async Task FreezeAsync(string mountpoint, TimeSpan timeout, CancellationToken ct) =>
        // fsfreeze --freeze MOUNTPOINT
        await runner.RunAsync("fsfreeze", ["--freeze", mountpoint], ct, timeout: timeout);

    public async Task ThawAsync(string mountpoint, CancellationToken ct)
    {
        // fsfreeze --unfreeze MOUNTPOINT
        var result = await runner.TryRunAsync("fsfreeze", ["--unfreeze", mountpoint], ct);
        // "unfreeze failed: Invalid argument" is the kernel's EINVAL for a filesystem that is not frozen.
        if (!result.Succeeded && !result.Stderr.Contains(NotFrozenText, StringComparison.Ordinal))
        {
            throw HostCommandException.FromExit("fsfreeze", ["--unfreeze", mountpoint], result);
        }
    }

    /// <summary>
    /// The first <see cref="HeadCheckBytes"/> and last <see cref="TailCheckBytes"/> of the device, read with O_DIRECT
    /// (the page cache may still hold what an earlier read saw). An I/O error refuses the mkfs.
    /// </summary>
    private ((long Offset, byte[] Bytes) Head, (long Offset, byte[] Bytes) Tail) ReadEnds(string device)
    {
        long offset = 0;
        try
        {
            var head = _host.ReadDirect(device, offset, HeadCheckBytes);
            var size = (long)_host.BlockDeviceSize(device);
            offset = Math.Max(0, (size - TailCheckBytes) / DirectRead.Alignment * DirectRead.Alignment);
            var tail = offset < HeadCheckBytes ? [] : _host.ReadDirect(device, offset, TailCheckBytes);
            return ((0, head), (offset, tail));
        }
        catch (IOException e)
        {
            throw new HostCommandException(
                $"cannot read {device} (direct read of {(offset == 0 ? "its first" : "its last")} MiBs at byte {offset}: {e.Message}): a device that cannot be read may hold data that blkid could not see, so nothing was formatted. Check the kernel log (`dmesg`) and the mapping, then retry", e);
        }
    }

    /// <summary>The device offset of the first byte that is not zero, or null.</summary>
    internal static long? FirstNonZero(ReadOnlySpan<byte> bytes, long offset)
    {
        var i = bytes.IndexOfAnyExcept((byte)0);
        return i < 0 ? null : offset + i;
    }

    /// <summary>fsfreeze --unfreeze of a filesystem that is not frozen: "fsfreeze: DIR: unfreeze failed: Invalid argument".</summary>
    public const string NotFrozenText = "Invalid argument";

    private ulong FilesystemSize(string device, string fsType) =>
        Superblock.SizeOf(_host.ReadHead(device, Superblock.HeadBytes), fsType)
        ?? throw new HostCommandException($"{device} does not start with an {fsType} superblock; cannot tell its size to grow it");

    /// <summary>
    /// Why lazy init is safe here and only here: lazy_itable_init and lazy_journal_init (and, with e2fsprogs 1.47+,
    /// assume_storage_prezeroed, which also stops the kernel's ext4lazyinit thread from writing zeros over every
    /// inode table afterwards: 16 GiB of real writes for a 1 TiB volume) skip zeroing on the promise that the
    /// device already reads as zeros. A fresh RBD image does (unwritten extents read as zero), and we only mkfs
    /// after blkid found nothing on a brand-new image. On a reused device, stale blocks in the journal area could
    /// be replayed as if they were transactions after a crash; so <see cref="MakeAsync"/> also requires the device's
    /// first MiBs and last MiB to read back as zeros. nodiscard: discarding a fresh thin image is wasted
    /// work (through rbd-fuse + loop, a very slow one). xfs: -K is its "do not discard".
    /// </summary>
    internal static IReadOnlyList<string> MkfsArgs(string fsType, string device, IReadOnlyList<string> extraOptions, bool assumeZeroed, bool zeroed = true) =>
        fsType switch
        {
            "ext4" when !zeroed => ["-q", "-E", "nodiscard,lazy_itable_init=1", .. extraOptions, device],
            "ext4" => ["-q", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1" + (assumeZeroed ? ",assume_storage_prezeroed=1" : ""),
                .. extraOptions, device],
            "xfs" => ["-q", "-K", .. extraOptions, device],
            _ => throw new ArgumentException($"unsupported filesystem '{fsType}': use ext4 or xfs", nameof(fsType)),
        };

    /// <remarks>
    /// xfs always gets <c>nouuid</c>: a clone (or a restored copy) carries its source's filesystem UUID, and xfs
    /// refuses to mount a second filesystem with a UUID already mounted on the host — so a clone could not be
    /// mounted while its source is. The check guards against mounting one device twice, which the plugin never does.
    /// </remarks>
    internal static IReadOnlyList<string> MountArgs(string device, string mountpoint, string fsType, IReadOnlyList<string> options)
    {
        if (fsType == "xfs" && !options.Contains("nouuid"))
        {
            options = [.. options, "nouuid"];
        }

        return options.Count == 0
            ? ["-t", fsType, device, mountpoint]
            : ["-t", fsType, "-o", string.Join(',', options), device, mountpoint];
    }

    /// <summary>mke2fs prints "mke2fs 1.47.0 (5-Feb-2023)"; assume_storage_prezeroed arrived in 1.47.0.</summary>
    internal static bool SupportsAssumeZeroed(string versionOutput)
    {
        var word = versionOutput.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .SkipWhile(w => w != "mke2fs").Skip(1).FirstOrDefault();
        return word is not null && Version.TryParse(word.Split('-')[0], out var v) && v >= new Version(1, 47);
    }

    private async Task<bool> Mke2fsAssumesZeroedAsync(CancellationToken ct)
    {
        if (_mke2fsAssumesZeroed is { } known)
        {
            return known;
        }
        // mke2fs -V   (prints its version to stderr and exits 0)
        var result = await runner.TryRunAsync("mke2fs", ["-V"], ct);
        var supported = SupportsAssumeZeroed(result.Stderr + "\n" + result.Stdout);
        LogMke2fs(result.Stderr.Split('\n')[0].Trim(), supported);
        _mke2fsAssumesZeroed = supported;
        return supported;
    }

    /// <summary>/dev/rbd/pool/img and /dev/rbd0 are the same device: compare what the paths finally point at.</summary>
    private static bool SameDevice(string a, string b) => a == b || Resolve(a) == Resolve(b);

    private static string Resolve(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Grew the {FsType} filesystem at {Mountpoint} from {Before} to {After} bytes")]
    private partial void LogGrown(string mountpoint, string fsType, ulong before, ulong after);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Version}: assume_storage_prezeroed {Supported}")]
    private partial void LogMke2fs(string version, bool supported);
}
