using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>
/// rbd-fuse + loop: rbd-fuse exposes the image as the file <c>DIR/IMAGE</c>, losetup turns that file into a block
/// device. Works wherever FUSE and loop devices do (no rbd or nbd module needed), so it is the dev and CI mapper;
/// rbd-fuse is not meant for production I/O. librbd runs inside rbd-fuse, so every image feature is supported.
/// Everything it maps lives under <see cref="FuseRoot"/> (a canonical path: mountinfo shows no symlinks), which
/// is how <see cref="ListMappedAsync"/> finds the mappings of an earlier daemon. The rbd-fuse daemons outlive the
/// plugin process by design: a service manager must not kill them with it (systemd: KillMode=process).
/// </summary>
internal sealed partial class FuseLoopMapper(
    ICommandRunner runner,
    CephClientArgs client,
    IMountTable mounts,
    IHostProbe host,
    string stateDir,
    TimeProvider time,
    ILogger<FuseLoopMapper> logger) : IBlockMapper
{
    /// <summary>losetup -d of a loop device that is not set up: "detach failed: No such device or address".</summary>
    public const string LoopNotAttachedText = "No such device or address";

    /// <summary>umount of something that is not a mount point: "umount: DIR: not mounted.".</summary>
    public const string NotMountedText = "not mounted";

    /// <summary>umount while the loop device still holds the image file open: "umount: DIR: target is busy.".</summary>
    public const string BusyText = "target is busy";

    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;

    public string Name => "fuse";

    public ulong? SupportedFeatures => null;

    public bool AppliesIoLimits => true;

    public bool OpensEncrypted => false;

    /// <summary>Parent of the per-image rbd-fuse mounts: STATE/fuse.</summary>
    public string FuseRoot { get; } = Path.GetFullPath(Path.Combine(stateDir, "fuse"));

    /// <summary>How long rbd-fuse may take to show the image file. It shows it at once when the image exists.</summary>
    public TimeSpan ImageVisibleTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long an unmount may keep failing with "target is busy" (a loop device letting go of the file). The
    /// kernel drops a detached loop device's file only at its last close, which follows the filesystem's unmount
    /// asynchronously: milliseconds when idle, but more than 5 s was seen under a load of 10-30 (a Cluster-tier
    /// failure); a release that waits longer here costs nothing, one that gives up leaves the volume mounted.
    /// </summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an unmap waits for the rbd-fuse process to end after its directory was unmounted. umount returns
    /// while rbd-fuse still closes the image (1.3-1.5 s under load, measured), and until then the image's watch
    /// is held: a Remove right after Unmount would see it and refuse "in use elsewhere".
    /// </summary>
    public TimeSpan FuseExitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Delay between checks while waiting for a file to appear or a mount to let go.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The image's rbd-fuse mount directory.</summary>
    public string FuseDir(ImageRef image) => Path.Combine(FuseRoot, FuseLayout.DirName(image));

    public async Task<MappedDevice> MapAsync(ImageRef image, CancellationToken ct)
    {
        var dir = FuseDir(image);
        var file = Path.Combine(dir, image.Name);
        var startedFuse = false;

        if (IsFuseMounted(dir) && !host.Exists(file))
        {
            await RecoverStaleFuseAsync(image, dir, file, ct);
        }
        if (!IsFuseMounted(dir))
        {
            Directory.CreateDirectory(dir);
            // CEPH_ARGS='--id ID --keyring KEYRING --rbd_cache=false' rbd-fuse -c CONF -p POOL [--namespace=NAMESPACE] -r IMAGE DIR
            await runner.RunAsync("rbd-fuse", FuseLayout.RbdFuseArgs(client, image, dir), ct,
                new Dictionary<string, string> { ["CEPH_ARGS"] = FuseLayout.RbdFuseCephArgs(client) });
            startedFuse = true;
        }

        try
        {
            await WaitForImageFileAsync(image, file, ct);
            // A fuse mount started just now has no loop device on it: one naming the same path belongs to an earlier,
            // dead mount of that directory and must not be reused (and the listing costs a losetup per first mount).
            var existing = startedFuse ? null : (await ListLoopsAsync(ct)).FirstOrDefault(l => l.BackingFile == file);
            var device = existing?.Device ?? await AttachLoopAsync(file, ct);
            return new MappedDevice(image, device, Name, dir);
        }
        catch (Exception e) when (startedFuse)
        {
            await UndoFuseAsync(dir, e);
            throw;
        }
    }

    public async Task UnmapAsync(MappedDevice device, CancellationToken ct)
    {
        var dir = FuseDir(device.Image);
        var file = Path.Combine(dir, device.Image.Name);

        // Detach whatever loop device backs this image's file now; the recorded device path may since have been
        // reused for another file, so it is not trusted on its own: only with the backing file an rbd-fuse mount
        // that is gone leaves behind (the image's name at the root of a detached mount), as when a managed plugin
        // stopped and took its rbd-fuse and fuse mounts with it while a container kept the filesystem.
        foreach (var loop in (await ListLoopsAsync(ct)).Where(l => l.BackingFile == file
                     || (l.Device == device.DevicePath && l.BackingFile == "/" + device.Image.Name)))
        {
            var mountedAt = mounts.Read().FirstOrDefault(m => m.Source == loop.Device);
            if (mountedAt is not null)
            {
                throw new InvalidOperationException(
                    $"{loop.Device} ({device.Image}) is still mounted at {mountedAt.MountPoint}: unmount it before unmapping");
            }
            // losetup -d /dev/loopN
            var result = await runner.TryRunAsync("losetup", ["-d", loop.Device], ct);
            if (!result.Succeeded && !result.Stderr.Contains(LoopNotAttachedText, StringComparison.Ordinal)
                && (await ListLoopsAsync(ct)).Any(l => l.Device == loop.Device && l.BackingFile == file))
            {
                throw HostCommandException.FromExit("losetup", ["-d", loop.Device], result);
            }
        }

        await UnmountFuseAsync(dir, ct);
        TryRemoveDir(dir);
    }

    /// <summary>
    /// Kills the rbd-fuse serving the image (SIGKILL: a fenced rbd-fuse finishes neither a flush nor an exit), which
    /// aborts its fuse mount so every pending and later I/O on the loop device fails at once; then detaches the loop
    /// device (the kernel defers that while a filesystem still sits on it) and lazily unmounts the dead fuse mount.
    /// </summary>
    public async Task AbandonAsync(MappedDevice device, CancellationToken ct)
    {
        var dir = FuseDir(device.Image);
        var file = Path.Combine(dir, device.Image.Name);
        var servers = host.FindProcesses("rbd-fuse", dir);
        foreach (var pid in servers)
        {
            // kill -KILL PID
            await runner.TryRunAsync("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], ct);
            LogKilledFuse(pid, dir);
        }

        await WaitForExitAsync(servers, dir, ct);

        foreach (var loop in (await ListLoopsAsync(ct)).Where(l => l.BackingFile == file))
        {
            // losetup -d /dev/loopN
            await runner.TryRunAsync("losetup", ["-d", loop.Device], ct);
        }

        if (IsFuseMounted(dir))
        {
            // umount -l DIR
            await runner.TryRunAsync("umount", ["-l", dir], ct);
        }
    }

    /// <summary>rbd-fuse shows the image file at its new size at once; the loop device needs to re-read it.</summary>
    public async Task RefreshSizeAsync(MappedDevice device, CancellationToken ct) =>
        // losetup --set-capacity /dev/loopN
        await runner.RunAsync("losetup", ["--set-capacity", device.DevicePath], ct);

    public async Task<IReadOnlyList<MappedDevice>> ListMappedAsync(CancellationToken ct)
    {
        var loops = await ListLoopsAsync(ct);
        // Only the rbd-fuse mounts of this mount namespace. Loop devices are the kernel's, shared by every namespace,
        // and a backing file's path is the one its process saw: every managed plugin sees its state at the same
        // path, so a loop on FuseRoot/DIR/IMAGE without a fuse mount at FuseRoot/DIR here belongs to another plugin
        // (another engine's, or a systemd daemon with the default StateDir) and must never be released as ours. Ours
        // whose fuse mount died with a plugin show "/IMAGE" as their file; the journal names those (Reconciler).
        var dirs = mounts.Read().Where(IsOurFuseMount).Select(m => m.MountPoint).Distinct(StringComparer.Ordinal);

        var mapped = new List<MappedDevice>();
        foreach (var dir in dirs)
        {
            if (FuseLayout.ParseDirName(Path.GetFileName(dir)) is not { } image)
            {
                continue;
            }
            var file = Path.Combine(dir, image.Name);
            var devices = loops.Where(l => l.BackingFile == file).Select(l => l.Device).ToList();
            // A fuse mount without a loop device is a half-finished map (a crash between the two steps): it is
            // listed with an empty device path so reconciliation can unmap it and the image is not left open.
            mapped.AddRange(devices.Count == 0
                ? [new MappedDevice(image, "", Name, dir)]
                : devices.Select(d => new MappedDevice(image, d, Name, dir)));
        }
        return mapped;
    }

    /// <summary>
    /// Undoes the rbd-fuse mount this map started, even when the caller gave up (its token is not used): a fuse
    /// mount left behind keeps the image open and watched. A failing undo is logged, not thrown, so the caller
    /// sees why the map failed; ListMappedAsync still reports the leftover mount for reconciliation to retry.
    /// </summary>
    private async Task UndoFuseAsync(string dir, Exception cause)
    {
        try
        {
            await UnmountFuseAsync(dir, CancellationToken.None);
            TryRemoveDir(dir);
        }
        catch (Exception e) when (e is HostCommandException or IOException)
        {
            LogUndoFailed(dir, cause.Message, e.Message);
        }
    }

    private bool IsFuseMounted(string dir) => mounts.Read().Any(m => m.MountPoint == dir && IsFuse(m));

    private bool IsOurFuseMount(MountEntry m) => IsFuse(m) && Path.GetDirectoryName(m.MountPoint) == FuseRoot;

    private static bool IsFuse(MountEntry m) => m.FsType == "fuse" || m.FsType.StartsWith("fuse.", StringComparison.Ordinal);

    /// <summary>
    /// A fuse mount that does not show the image file belongs to an rbd-fuse that died (its mount answers
    /// "Transport endpoint is not connected") or lost the image. Without a loop device on it nothing can be using
    /// it, so it is unmounted and mapped afresh; with one, a filesystem may sit on top and only the caller can
    /// unmount that.
    /// </summary>
    private async Task RecoverStaleFuseAsync(ImageRef image, string dir, string file, CancellationToken ct)
    {
        var loop = (await ListLoopsAsync(ct)).FirstOrDefault(l => l.BackingFile == file);
        if (loop is not null)
        {
            throw new InvalidOperationException(
                $"the rbd-fuse mount {dir} of {image} no longer answers but {loop.Device} still uses it: " +
                $"unmount the filesystem on {loop.Device}, unmap, and map again");
        }
        LogStaleFuse(dir);
        await UnmountFuseAsync(dir, ct);
    }

    private async Task WaitForImageFileAsync(ImageRef image, string file, CancellationToken ct)
    {
        var deadline = _time.GetTimestamp() + (long)(ImageVisibleTimeout.TotalSeconds * _time.TimestampFrequency);
        while (!host.Exists(file))
        {
            if (_time.GetTimestamp() >= deadline)
            {
                throw new HostCommandException(
                    $"rbd-fuse did not show image {image} within {ImageVisibleTimeout.TotalSeconds:0.#} s: does the image exist, " +
                    $"and may client.{client.ClientId} read it?");
            }
            await Task.Delay(PollInterval, _time, ct);
        }
    }

    private async Task<string> AttachLoopAsync(string file, CancellationToken ct)
    {
        // losetup --find --show --direct-io=on FILE
        var result = await runner.TryRunAsync("losetup", FuseLayout.LosetupAttachArgs(file, directIo: true), ct);
        if (!result.Succeeded)
        {
            // Kernels that cannot do direct I/O on this file either ignore the flag or refuse it; when refused,
            // buffered I/O still works (slower, and cached twice), so it is the fallback rather than a failure.
            LogNoDirectIo(file, SecretRedactor.Text(result.Stderr.Trim()));
            // losetup --find --show FILE
            result = await runner.RunAsync("losetup", FuseLayout.LosetupAttachArgs(file, directIo: false), ct);
        }
        var device = result.Stdout.Trim();
        return device.StartsWith("/dev/", StringComparison.Ordinal)
            ? device
            : throw new HostCommandException($"losetup printed no loop device for {file}: '{HostCommandException.Bounded(device, 200)}'");
    }

    private async Task<IReadOnlyList<LoopDevice>> ListLoopsAsync(CancellationToken ct)
    {
        // losetup --list --json --output NAME,BACK-FILE
        var result = await runner.RunAsync("losetup", FuseLayout.LosetupListArgs, ct);
        return LoopDeviceList.Parse(result.Stdout);
    }

    /// <summary>
    /// umount DIR (as root this works for fuse mounts without fusermount), tolerant of "not mounted". A loop
    /// device detached a moment ago may still hold the file for a while, so "busy" is retried (<see cref="BusyTimeout"/>).
    /// </summary>
    private async Task UnmountFuseAsync(string dir, CancellationToken ct)
    {
        var deadline = _time.GetTimestamp() + (long)(BusyTimeout.TotalSeconds * _time.TimestampFrequency);
        var servers = host.FindProcesses("rbd-fuse", dir);
        while (IsFuseMounted(dir))
        {
            // umount DIR
            var result = await runner.TryRunAsync("umount", [dir], ct);
            if (result.Succeeded || result.Stderr.Contains(NotMountedText, StringComparison.Ordinal))
            {
                await WaitForExitAsync(servers, dir, ct);
                return;
            }
            if (!result.Stderr.Contains(BusyText, StringComparison.Ordinal) || _time.GetTimestamp() >= deadline)
            {
                throw HostCommandException.FromExit("umount", [dir], result);
            }
            await Task.Delay(PollInterval, _time, ct);
        }
    }

    /// <summary>
    /// Waits (bounded) until the rbd-fuse processes that served DIR have ended, so the image is closed and its
    /// watch gone when the unmap returns. Past the bound it only logs: the unmount itself succeeded, and a Remove
    /// that still sees the watch refuses with a message naming it.
    /// </summary>
    private async Task WaitForExitAsync(IReadOnlyList<int> pids, string dir, CancellationToken ct)
    {
        var deadline = _time.GetTimestamp() + (long)(FuseExitTimeout.TotalSeconds * _time.TimestampFrequency);
        while (pids.Any(host.IsRunning))
        {
            if (_time.GetTimestamp() >= deadline)
            {
                LogFuseStillRunning(dir, string.Join(' ', pids.Where(host.IsRunning)), FuseExitTimeout.TotalSeconds);
                return;
            }
            await Task.Delay(PollInterval, _time, ct);
        }
    }

    /// <summary>Removes the mount directory if it is empty. Never recursive: a live fuse mount shows the image there.</summary>
    private void TryRemoveDir(string dir)
    {
        try
        {
            if (Directory.Exists(dir) && !IsFuseMounted(dir))
            {
                Directory.Delete(dir, recursive: false);
            }
        }
        catch (IOException e)
        {
            LogDirNotRemoved(dir, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Killed rbd-fuse {Pid} serving {Dir}: this host lost the volume")]
    private partial void LogKilledFuse(int pid, string dir);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rbd-fuse mount {Dir} no longer shows its image; unmounting it to map again")]
    private partial void LogStaleFuse(string dir);

    [LoggerMessage(Level = LogLevel.Information, Message = "losetup refused direct I/O on {File} ({Stderr}); using buffered I/O")]
    private partial void LogNoDirectIo(string file, string stderr);

    [LoggerMessage(Level = LogLevel.Error, Message = "Map failed ({Cause}) and unmounting its rbd-fuse mount {Dir} failed too: {Reason}")]
    private partial void LogUndoFailed(string dir, string cause, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rbd-fuse (PID {Pids}) of {Dir} still runs {Seconds} s after its unmount; its image stays open until it ends")]
    private partial void LogFuseStillRunning(string dir, string pids, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove {Dir}: {Reason}")]
    private partial void LogDirNotRemoved(string dir, string reason);
}
