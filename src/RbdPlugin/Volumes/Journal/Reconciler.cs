using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>What the start-up reconciliation found and did.</summary>
internal sealed record ReconcileReport(int Kept, int Released, int Dropped, int OrphansCleaned, IReadOnlyList<string> Problems, int Lost = 0);

/// <summary>
/// Before the first request: make the journal, the mount table and the mapped devices agree again (invariant 4).
/// A journal entry whose mount is still there is kept (containers run on it); one with no references left is
/// released (its grace period was cut short); one whose mount vanished is dropped (host rebooted, or unmounted by
/// hand) after unmapping what is left. Mounts under our mount root that the journal does not know are orphans of a
/// crash between mount and journal write: unmounted and unmapped; so are our own fuse mappings without a mount, and
/// the krbd/nbd mappings of our volumes that nobody uses (<see cref="KernelLeftovers"/>).
/// A kept volume keeps running only if this host still owns it: its lease is taken back (a restart is not a
/// failover); one another host took over meanwhile is released here and never re-acquired by itself.
/// A mount can also vanish from under a running container: Docker unmounts a managed plugin's propagated mount
/// when the plugin stops (<c>docker plugin disable -f</c>), while the container keeps its own bind mount of the
/// filesystem. See <see cref="RemountAsync"/>; an rbd-nbd that died with the plugin is re-attached
/// (<see cref="IBlockMapper.AwaitsReattach"/>).
/// </summary>
internal sealed partial class Reconciler(
    MountJournal journal,
    VolumeReleaser releaser,
    VolumeMounter mounter,
    LeaseAcquirer leases,
    MapperSet mappers,
    KernelLeftovers kernelLeftovers,
    IFilesystem filesystem,
    ICryptDevices crypt,
    IMountTable mountTable,
    IMountNamespaces namespaces,
    VolumeSettings settings,
    ILogger<Reconciler> logger)
{
    public async Task<ReconcileReport> RunAsync(CancellationToken ct)
    {
        var problems = journal.Load().ToList();
        foreach (var problem in problems)
        {
            LogProblem(problem);
        }

        var mounts = mountTable.Read();
        var mapped = await ListMappedAsync(ct);
        int kept = 0, released = 0, dropped = 0, lost = 0;
        foreach (var entry in journal.All)
        {
            var isMounted = mounts.Any(m => m.MountPoint == entry.Mountpoint);
            var revive = false;
            if (!isMounted && IsUsedByAContainer(entry))
            {
                if (mapped.Any(d => d.Image == entry.Image && d.Mapper == entry.Mapper && d.DevicePath == entry.Device))
                {
                    isMounted = await RemountAsync(entry, ct);
                }
                else if (entry.TotalRefs > 0 && mappers.Get(entry.Mapper).AwaitsReattach(entry.Mapping))
                {
                    isMounted = revive = true; // served again below, once the lease is ours again
                }
                else
                {
                    LogInUseButDead(entry.Name, entry.Device);
                }
            }

            if (isMounted && entry.TotalRefs > 0)
            {
                var name = entry.Name;
                var why = await CephErrors.Guard($"reclaim the lease of {name}",
                    () => leases.ReclaimAsync(name, entry.LeaseSince is not null, entry.Writers, loss => releaser.OnLeaseLostAsync(name, loss), ct));
                if (why is not null)
                {
                    LogLost(name, why);
                    await releaser.ReleaseLostAsync(entry, why);
                    lost++;
                    continue;
                }

                if (revive && !await ReviveAsync(entry, problems, ct))
                {
                    await DropAsync(entry, mapped, ct);
                    dropped++;
                    continue;
                }

                await ThawAsync(entry, problems, ct);
                kept++;
                LogKept(entry.Name, entry.Mountpoint, entry.TotalRefs);
            }
            else if (isMounted)
            {
                await ThawAsync(entry, problems, ct);
                await releaser.ReleaseAsync(entry, ct);
                released++;
            }
            else
            {
                await DropAsync(entry, mapped, ct);
                dropped++;
            }
        }

        // Read again: the loop above released some of what the first reading showed.
        mounts = mountTable.Read();
        mapped = await ListMappedAsync(ct);
        var orphans = await CleanOrphansAsync(mounts, mapped, ct)
            + await kernelLeftovers.ReleaseAsync(mapped, journal.All.Select(e => e.Image).ToHashSet(), ct);
        var report = new ReconcileReport(kept, released, dropped, orphans, problems, lost);
        LogDone(kept, released, dropped, orphans, lost);
        return report;
    }

    /// <summary>Forgets a volume whose mount is gone here: closes, unmaps, releases the lease.</summary>
    private async Task DropAsync(JournalEntry entry, IReadOnlyList<MappedDevice> mapped, CancellationToken ct)
    {
        if (entry.Crypt is { } cryptName)
        {
            await crypt.CloseAsync(cryptName, deferred: false, ct); // before the unmap: it holds the device
        }

        // What the mapper no longer lists may still hold the device: a loop device on the file of an rbd-fuse mount
        // that died with a managed plugin, an nbd device waiting for its dead rbd-nbd. The unmap of the journaled
        // device releases it (each mapper checks what the device carries now before it touches it).
        var mapping = mapped.FirstOrDefault(d => d.Image == entry.Image && d.Mapper == entry.Mapper)
            ?? (entry.Device.Length > 0 ? entry.Mapping : null);
        if (mapping is not null)
        {
            await mappers.Get(entry.Mapper).UnmapAsync(mapping, ct);
        }

        journal.Delete(entry.Name);
        await CephErrors.Guard($"release the lease of {entry.Name}", () => leases.ReleaseAsync(entry.Name, ct));
        LogDropped(entry.Name, entry.Mountpoint);
    }

    /// <summary>
    /// Re-attaches a mapping whose server died with the plugin, under the lease just taken back. A failure (the
    /// kernel gave the device up meanwhile) is reported, and the caller drops the volume: its containers get I/O
    /// errors until they are restarted, as without a re-attach.
    /// </summary>
    private async Task<bool> ReviveAsync(JournalEntry entry, List<string> problems, CancellationToken ct)
    {
        try
        {
            await mounter.ReviveAsync(entry,
                writers => CephErrors.Guard($"record the writers of {entry.Name}", () => leases.RecordOwnWritersAsync(entry.Name, writers, ct)), ct);
            return true;
        }
        catch (Exception e) when (e is HostCommandException or VolumeException)
        {
            var problem = $"volume {entry.Name}: its mapping {entry.Device} outlived its server but could not be re-attached ({e.Message}); " +
                "its containers get I/O errors until they are restarted";
            problems.Add(problem);
            LogProblem(problem);
            return false;
        }
    }

    /// <summary>Whether a container (a mount namespace other than ours) still has the volume's filesystem mounted.</summary>
    private bool IsUsedByAContainer(JournalEntry entry) =>
        entry.Device.Length > 0 && namespaces.ReadAll().Any(m => m.Source == entry.FsDevice);

    /// <summary>
    /// A daemon killed between fsfreeze and thaw (a snapshot of a mounted volume) left the filesystem frozen, and
    /// every writer in its containers hangs until someone thaws it; nobody else will. Thawing a filesystem that is
    /// not frozen is success, so every mounted volume is thawed, without knowing whether it was frozen. A lost
    /// volume is thawed by its release, once its client is gone. A failure is reported, not thrown: the other
    /// volumes still get reconciled.
    /// </summary>
    private async Task ThawAsync(JournalEntry entry, List<string> problems, CancellationToken ct)
    {
        try
        {
            await filesystem.ThawAsync(entry.Mountpoint, ct);
        }
        catch (HostCommandException e)
        {
            var problem = $"volume {entry.Name}: could not thaw {entry.Mountpoint} ({e.Message}); if its writers hang, run `fsfreeze --unfreeze {entry.Mountpoint}`";
            problems.Add(problem);
            LogProblem(problem);
        }
    }

    /// <summary>
    /// The mappings of the active mapper and of every mapper the journal names: after an operator switched the
    /// Mapper setting, volumes mapped by the old one stay on it until released, and are released with it.
    /// </summary>
    private async Task<IReadOnlyList<MappedDevice>> ListMappedAsync(CancellationToken ct)
    {
        var all = new List<MappedDevice>(await mappers.Active.ListMappedAsync(ct));
        foreach (var name in journal.All.Select(e => e.Mapper).Where(m => m != mappers.Active.Name).Distinct(StringComparer.Ordinal))
        {
            LogOtherMapper(name, mappers.Active.Name);
            all.AddRange(await mappers.Get(name).ListMappedAsync(ct));
        }

        return all;
    }

    /// <summary>
    /// For a journaled volume whose mount is gone here while a container still has its filesystem mounted, on a
    /// mapping that still works (krbd survives a plugin's stop): the container may still be writing, so the volume
    /// is mounted again at its mountpoint (for the next container and for snapshots) and kept, lease and all;
    /// releasing it would let another host mount it under a live writer. A mapping that died with the plugin
    /// (rbd-fuse, or rbd-nbd past re-attaching) lets nobody write through it any more: it is dropped, and its
    /// containers get I/O errors until they are restarted (logged, naming the volume).
    /// </summary>
    private async Task<bool> RemountAsync(JournalEntry entry, CancellationToken ct)
    {
        try
        {
            // The device's filesystem is still mounted (the container's): this mounts the same superblock again.
            await filesystem.MountAsync(entry.FsDevice, entry.Mountpoint, entry.FsType, [], ct);
            LogRemounted(entry.Name, entry.Device, entry.Mountpoint);
            return true;
        }
        catch (HostCommandException e)
        {
            LogRemountFailed(entry.Name, entry.Device, e.Message);
            return false;
        }
    }

    private async Task<int> CleanOrphansAsync(IReadOnlyList<MountEntry> mounts, IReadOnlyList<MappedDevice> mapped, CancellationToken ct)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(settings.MountRoot)) + "/";
        var known = journal.All.Select(e => e.Mountpoint).ToHashSet(StringComparer.Ordinal);
        var cleaned = 0;
        foreach (var mount in mounts.Where(m => m.MountPoint.StartsWith(root, StringComparison.Ordinal) && !known.Contains(m.MountPoint)))
        {
            await filesystem.UnmountAsync(mount.MountPoint, ct);
            if (mapped.FirstOrDefault(d => d.DevicePath == mount.Source) is { } device)
            {
                await mappers.Get(device.Mapper).UnmapAsync(device, ct);
            }

            cleaned++;
            LogOrphan(mount.MountPoint, mount.Source);
        }

        // Mappings without a mount: a crash between map and mount. Only those living in our own state dir (the
        // fuse mapper's) are certainly ours; krbd/nbd mappings are host-wide and may belong to someone else.
        var stateDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(settings.StateDir)) + "/";
        var journaled = journal.All.Select(e => e.Image).ToHashSet();
        var mountedDevices = mounts.Select(m => m.Source).ToHashSet(StringComparer.Ordinal);
        foreach (var device in mapped.Where(d => d.Detail?.StartsWith(stateDir, StringComparison.Ordinal) == true
                     && !journaled.Contains(d.Image) && !mountedDevices.Contains(d.DevicePath)))
        {
            await mappers.Get(device.Mapper).UnmapAsync(device, ct);
            cleaned++;
            LogOrphan(device.Detail!, device.DevicePath.Length > 0 ? device.DevicePath : "no loop device");
        }

        return cleaned;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile: the journal has volumes mapped with mapper {Old}; they stay on it until released, new mounts use {Active}")]
    private partial void LogOtherMapper(string old, string active);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile: volume {Volume} ({Device}) was unmounted here while a container still uses it; its mapping is alive, so it is mounted again at {Mountpoint} and kept")]
    private partial void LogRemounted(string volume, string device, string mountpoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconcile: volume {Volume} ({Device}) is still mounted by a container, but its mapping did not survive the plugin's stop (rbd-fuse inside a managed plugin, or an rbd-nbd mapped without a cookie): that container gets I/O errors until it is restarted; releasing the volume")]
    private partial void LogInUseButDead(string volume, string device);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconcile: volume {Volume} ({Device}) is still used by a container but could not be mounted again: {Reason}")]
    private partial void LogRemountFailed(string volume, string device, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Journal: {Problem}")]
    private partial void LogProblem(string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile: volume {Volume} still mounted at {Mountpoint} with {Refs} reference(s); kept")]
    private partial void LogKept(string volume, string mountpoint, int refs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile: volume {Volume} was no longer mounted at {Mountpoint}; dropped from the journal")]
    private partial void LogDropped(string volume, string mountpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile: unmounted orphan {Mountpoint} ({Device}) that the journal did not know")]
    private partial void LogOrphan(string mountpoint, string device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile done: {Kept} kept, {Released} released, {Dropped} dropped, {Orphans} orphan mount(s) cleaned, {Lost} lost to another host")]
    private partial void LogDone(int kept, int released, int dropped, int orphans, int lost);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Reconcile: volume {Volume} is mounted here but this host no longer owns it: {Reason}. Releasing it; it will not be re-acquired automatically")]
    private partial void LogLost(string volume, string reason);
}
