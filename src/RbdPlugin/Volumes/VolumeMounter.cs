using System.Security.Cryptography;
using System.Text;
using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// This host's side of a volume, step by step: map → (an encrypted volume: luksFormat only over nothing, open) →
/// probe → mkfs (only over nothing) → mount → grow → journal for a Mount, and the reverse for a release. Knows nothing of leases or Docker's references: the caller holds the
/// volume's lock and its lease.
/// </summary>
internal sealed partial class VolumeMounter(
    MapperSet mappers,
    WriterProbe writers,
    IFilesystem filesystem,
    ICryptDevices crypt,
    FormatMarks marks,
    MountJournal journal,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<VolumeMounter> logger)
{
    /// <summary>At mount, a device this much larger than its filesystem is grown into (smaller gaps are what mkfs leaves unused).</summary>
    internal const ulong GrowAtMountGap = 16UL << 20;

    private static readonly TimeSpan LostUnmountTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Every crypt device this plugin opens is named with this prefix.</summary>
    public const string CryptPrefix = "rbd-plugin-";

    public string MountpointOf(string name) => Path.Combine(settings.MountRoot, name);

    /// <summary>
    /// The dm-crypt name of a volume's cleartext device on this host: the prefix, a hash of this host's id and the
    /// image (dm names are kernel-wide, and several daemons may share one kernel, one per mount namespace), then as
    /// much of the volume name as fits in a dm name (127 bytes).
    /// </summary>
    public static string CryptNameOf(string hostId, ImageRef image)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{hostId}\0{image.Pool}\0{image.Namespace}\0{image.Name}"));
        var name = $"{CryptPrefix}{Convert.ToHexStringLower(hash.AsSpan(0, 4))}-{image.Name}";
        return name.Length <= 127 ? name : name[..127];
    }

    /// <summary>
    /// Maps, hands the mapping's Ceph clients to <paramref name="recordWriters"/> (the lease records them before
    /// anything is written through it, so a takeover can fence them), makes the filesystem the first time, mounts,
    /// grows a filesystem whose image grew meanwhile, and journals the mount with its first reference, durably,
    /// before returning. A failing step undoes the earlier ones in reverse. An encrypted volume
    /// (<paramref name="passphrase"/> given) gets its LUKS2 header on its first mount and is opened; the filesystem
    /// is made and mounted on the cleartext device.
    /// </summary>
    public async Task<JournalEntry> MountAsync(VolumeRecord record, string mountId, DateTimeOffset leaseSince,
        Func<IReadOnlyList<string>, Task> recordWriters, ReadOnlyMemory<byte>? passphrase, CancellationToken ct)
    {
        if (record.Spec.Encrypted != passphrase.HasValue)
        {
            throw new ArgumentException("an encrypted volume is mounted with its passphrase, any other without", nameof(passphrase));
        }

        var mapper = mappers.Active;
        var undo = new UndoStack(logger);
        try
        {
            var watchedBefore = await writers.BeforeAsync(record.Image, ct);
            var device = await mapper.MapAsync(record.Image, ct);
            undo.Push($"map of {record.Image} at {device.DevicePath}", () => mapper.UnmapAsync(device, CancellationToken.None));
            var writing = await writers.NewAsync(record.Image, watchedBefore, ct);
            await recordWriters(writing);

            string? cryptName = null;
            var fsDevice = device.DevicePath;
            if (passphrase is { } key)
            {
                cryptName = CryptNameOf(settings.HostId, record.Image);
                fsDevice = await OpenCryptAsync(record, device.DevicePath, cryptName, key, ct);
                undo.Push($"crypt device {cryptName}", () => crypt.CloseAsync(cryptName, deferred: false, CancellationToken.None));
            }

            var (fsType, formatted) = await EnsureFilesystemAsync(record, fsDevice, zeroed: cryptName is null, ct);
            if (!formatted)
            {
                await GrowBeforeMountAsync(record.Name, fsDevice, fsType, ct);
            }

            var mountpoint = MountpointOf(record.Name);
            var mountOptions = fsType == record.Spec.FsType ? SplitMountOptions(record.Spec.MountOptions) : [];
            await filesystem.MountAsync(fsDevice, mountpoint, fsType, mountOptions, ct);
            undo.Push($"mount at {mountpoint}", () => filesystem.UnmountAsync(mountpoint, CancellationToken.None));
            if (!formatted)
            {
                await GrowAtMountAsync(record.Name, fsDevice, mountpoint, fsType, ct);
            }

            var entry = new JournalEntry(record.Name, record.Image, mapper.Name, device.DevicePath, device.Detail, mountpoint,
                fsType, new Dictionary<string, int>(StringComparer.Ordinal) { [mountId] = 1 }, time.GetUtcNow(), leaseSince, writing, cryptName);
            journal.Save(entry);
            undo.Commit();
            LogMounted(record.Name, entry.Device, entry.Mountpoint, entry.Mapper);
            return entry;
        }
        catch
        {
            await undo.RollbackAsync();
            throw;
        }
    }

    /// <summary>
    /// Serves a mapping again whose server died with the plugin while a container kept its filesystem (rbd-nbd inside
    /// a managed plugin; see <see cref="IBlockMapper.AwaitsReattach"/>): re-attaches the waiting device with a new Ceph
    /// client, records that client beside the old ones (<paramref name="recordWriters"/>: the lease names it, so a
    /// later takeover fences it), mounts the filesystem again at the volume's mountpoint (the same superblock the
    /// container has), and journals it. The caller holds the volume's lease again: the new client writes at once
    /// (the I/O the kernel queued meanwhile).
    /// </summary>
    public async Task<JournalEntry> ReviveAsync(JournalEntry entry, Func<IReadOnlyList<string>, Task> recordWriters, CancellationToken ct)
    {
        var revived = await WithNewClientAsync(entry, () => mappers.Get(entry.Mapper).ReattachAsync(entry.Mapping, ct), recordWriters, ct);
        await filesystem.MountAsync(entry.FsDevice, entry.Mountpoint, entry.FsType, [], ct);
        journal.Save(revived);
        LogRevived(entry.Name, entry.Device, entry.Mountpoint);
        return revived;
    }

    /// <summary>
    /// Runs <paramref name="serve"/>, which gives the mapping a new Ceph client, and records that client beside the
    /// entry's writers (the lease names it, so a later takeover fences it). Returns the entry with them all.
    /// </summary>
    private async Task<JournalEntry> WithNewClientAsync(JournalEntry entry, Func<Task> serve, Func<IReadOnlyList<string>, Task> recordWriters,
        CancellationToken ct)
    {
        var watchedBefore = await writers.BeforeAsync(entry.Image, ct);
        await serve();
        IReadOnlyList<string> all = [.. entry.Writers ?? [], .. await writers.NewAsync(entry.Image, watchedBefore, ct)];
        await recordWriters(all);
        return entry with { Writers = all };
    }

    /// <summary>Unmounts and unmaps a volume nobody uses any more, then forgets it.</summary>
    public async Task ReleaseAsync(JournalEntry entry, CancellationToken ct)
    {
        await filesystem.UnmountAsync(entry.Mountpoint, ct);
        if (entry.Crypt is { } name)
        {
            await crypt.CloseAsync(name, deferred: false, ct);
        }

        await mappers.Get(entry.Mapper).UnmapAsync(entry.Mapping, ct);
        journal.Delete(entry.Name);
        TryRemoveEmptyDirectory(entry.Mountpoint);
        LogReleased(entry.Name, entry.Device);
    }

    /// <summary>Ends the Ceph client serving the mapping at once, without a flush (see <see cref="IBlockMapper.AbandonAsync"/>).</summary>
    public Task AbandonAsync(JournalEntry entry, CancellationToken ct) => mappers.Get(entry.Mapper).AbandonAsync(entry.Mapping, ct);

    /// <summary>
    /// Releases a volume this host no longer owns: ends the mapping's Ceph client first (its writes must not land
    /// any more, and a fenced client's I/O hangs forever, which would hang every step after it), then unmounts —
    /// lazily if containers still use it — unmaps and forgets. Best effort: every step runs whatever the previous
    /// one did.
    /// </summary>
    public async Task ReleaseLostAsync(JournalEntry entry)
    {
        var mapper = mappers.Get(entry.Mapper);
        await TryStepAsync(entry.Name, "end the mapping's client", () => mapper.AbandonAsync(entry.Mapping, CancellationToken.None));
        // Not before the client is gone (a write must not land), but before the unmount: a filesystem left frozen
        // (a daemon killed during a snapshot) would keep its writers hanging, unkillable, after a lazy unmount.
        await TryStepAsync(entry.Name, "thaw", async () =>
        {
            using var bounded = new CancellationTokenSource(LostUnmountTimeout);
            await filesystem.ThawAsync(entry.Mountpoint, bounded.Token);
        });
        try
        {
            using var bounded = new CancellationTokenSource(LostUnmountTimeout);
            await filesystem.UnmountAsync(entry.Mountpoint, bounded.Token);
        }
        catch (Exception e) when (e is HostCommandException or OperationCanceledException)
        {
            await TryStepAsync(entry.Name, "umount -l", () => filesystem.DetachAsync(entry.Mountpoint, CancellationToken.None));
        }

        if (entry.Crypt is { } name)
        {
            // Deferred: after a lazy unmount the filesystem still holds the crypt device; it goes when they let go.
            await TryStepAsync(entry.Name, "cryptsetup close", () => crypt.CloseAsync(name, deferred: true, CancellationToken.None));
        }

        await TryStepAsync(entry.Name, "unmap", () => mapper.UnmapAsync(entry.Mapping, CancellationToken.None));
        journal.Delete(entry.Name);
        TryRemoveEmptyDirectory(entry.Mountpoint);
        LogReleasedLost(entry.Name);
    }

    /// <summary>Grows the mounted filesystem to its (already grown) image: the mapper shows the new size, then
    /// resize2fs or xfs_growfs online; an encrypted volume's crypt device follows its mapped device first.</summary>
    public async Task<(ulong Before, ulong After)> GrowAsync(JournalEntry entry, ReadOnlyMemory<byte>? passphrase,
        Func<IReadOnlyList<string>, Task> recordWriters, CancellationToken ct)
    {
        var mapper = mappers.Get(entry.Mapper);
        if (mapper.RefreshRenewsClient(entry.Mapping))
        {
            journal.Save(await WithNewClientAsync(entry, () => mapper.RefreshSizeAsync(entry.Mapping, ct), recordWriters, ct));
        }
        else
        {
            await mapper.RefreshSizeAsync(entry.Mapping, ct);
        }

        if (entry.Crypt is { } name)
        {
            await crypt.ResizeAsync(name, passphrase ?? throw new ArgumentException("an encrypted volume grows with its passphrase", nameof(passphrase)), ct);
        }

        return await filesystem.GrowToDeviceAsync(entry.FsDevice, entry.Mountpoint, entry.FsType, 1, ct);
    }

    /// <summary>
    /// An encrypted volume's cleartext device: the LUKS2 header is written only on a device that has never held
    /// anything (no format mark, no signature, zeros at both ends); a device that is neither LUKS nor blank is
    /// refused, never formatted (invariant 2 for luksFormat).
    /// </summary>
    private async Task<string> OpenCryptAsync(VolumeRecord record, string device, string name, ReadOnlyMemory<byte> passphrase, CancellationToken ct)
    {
        if (!await crypt.IsLuksAsync(device, ct))
        {
            var (marked, _) = await marks.ReadAsync(record, ct);
            if (marked)
            {
                throw new VolumeException(VolumeErrorKind.Conflict,
                    $"volume {record.Name} is encrypted and was formatted, but {device} carries no LUKS header: it was overwritten or is not this volume's image; nothing was formatted and the volume was not mounted. Inspect the image {record.Image} by hand (docs/encryption.md)");
            }

            if (!await filesystem.IsBlankAsync(device, ct))
            {
                throw new VolumeException(VolumeErrorKind.Conflict,
                    $"volume {record.Name} is encrypted but {device} carries neither a LUKS header nor only zeros: refusing to format it (it holds data that is not this volume's). Inspect the image {record.Image} by hand (docs/troubleshooting.md, \"refusing to make a filesystem\")");
            }

            // Not cancellable: a half-written header would neither open nor read as blank.
            await crypt.FormatAsync(device, passphrase, CancellationToken.None);
            LogLuksFormatted(record.Name, device);
        }

        return await crypt.OpenAsync(device, name, passphrase, ct);
    }

    /// <summary>
    /// Makes a filesystem only when the probe finds no signature at all (invariant 2: never mkfs over data) on an
    /// image that never had one (no <see cref="FormatMark"/>), marks the image once it has one, and refuses to mount
    /// what is neither of our filesystems (a partition table, LVM, a foreign filesystem).
    /// </summary>
    /// <param name="zeroed">False on a crypt device: a fresh LUKS device reads as noise, not zeros.</param>
    private async Task<(string FsType, bool Formatted)> EnsureFilesystemAsync(VolumeRecord record, string device, bool zeroed, CancellationToken ct)
    {
        var found = await filesystem.ProbeAsync(device, ct);
        var (marked, mark) = await marks.ReadAsync(record, ct);
        if (found is null && marked)
        {
            throw FormatMarks.Gone(record, device, mark);
        }

        if (found is null)
        {
            try
            {
                // Not cancellable: a half-made filesystem would carry a signature and block every later mount.
                await filesystem.MakeAsync(device, record.Spec.FsType, SplitMkfsOptions(record.Spec.MkfsOptions), CancellationToken.None, zeroed);
            }
            catch (DeviceNotBlankException e)
            {
                throw new VolumeException(VolumeErrorKind.Conflict,
                    $"volume {record.Name}: {e.Message}. Inspect the image {record.Image} by hand before anything writes to it (docs/troubleshooting.md, \"refusing to make a filesystem\")", e);
            }

            LogFormatted(record.Name, device, record.Spec.FsType);
            await marks.WriteAsync(record, record.Spec.FsType, CancellationToken.None);
            return (record.Spec.FsType, true);
        }

        if (FsOptions.FsTypes.Contains(found))
        {
            if (!marked)
            {
                // A volume formatted before the mark existed (or whose mark write failed after its mkfs): the
                // filesystem found is the proof, so mark it now.
                await marks.WriteAsync(record, found, ct);
            }

            return (found, false);
        }

        throw new VolumeException(VolumeErrorKind.Conflict,
            $"volume {record.Name}: its device carries a '{found}' signature, which is not a filesystem this plugin mounts; refusing to format or mount it. Inspect the image {record.Image} by hand");
    }

    /// <summary>After a mount of an existing filesystem: grows it into a device that was enlarged while it was not mounted.
    /// A failure is logged, not thrown: the volume is usable at its old size, and the next mount tries again.</summary>
    /// <summary>An ext4 whose image grew is grown before it is mounted: offline, resize2fs needs no CAP_SYS_RESOURCE,
    /// which the online grow after the mount does (and a daemon may lack). A failure leaves that to the online grow.</summary>
    private async Task GrowBeforeMountAsync(string name, string device, string fsType, CancellationToken ct)
    {
        try
        {
            await filesystem.GrowUnmountedAsync(device, fsType, GrowAtMountGap, ct);
        }
        catch (Exception e) when (e is HostCommandException or IOException or UnauthorizedAccessException)
        {
            LogGrowBeforeMountFailed(e, name, device);
        }
    }

    private async Task GrowAtMountAsync(string name, string device, string mountpoint, string fsType, CancellationToken ct)
    {
        try
        {
            await filesystem.GrowToDeviceAsync(device, mountpoint, fsType, GrowAtMountGap, ct);
        }
        catch (Exception e) when (e is HostCommandException or IOException or UnauthorizedAccessException)
        {
            LogGrowAtMountFailed(e, name, mountpoint);
        }
    }

    private async Task TryStepAsync(string name, string step, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (e is HostCommandException or Ceph.CephException or IOException or InvalidOperationException)
        {
            LogLostStepFailed(e, name, step);
        }
    }


    private static void TryRemoveEmptyDirectory(string path)
    {
        try
        {
            Directory.Delete(path);
        }
        catch (IOException)
        {
            // Not empty or not there: leave it; it is only a mountpoint.
        }
    }

    private static string[] SplitMkfsOptions(string options) => options.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string[] SplitMountOptions(string options) => options.Split(',', StringSplitOptions.RemoveEmptyEntries);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mounted volume {Volume}: {Device} at {Mountpoint} ({Mapper})")]
    private partial void LogMounted(string volume, string device, string mountpoint, string mapper);

    [LoggerMessage(Level = LogLevel.Information, Message = "Made {FsType} on {Device} for volume {Volume} (the device carried no signature)")]
    private partial void LogFormatted(string volume, string device, string fsType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote a LUKS2 header on {Device} for encrypted volume {Volume} (its first mount)")]
    private partial void LogLuksFormatted(string volume, string device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released volume {Volume}: unmounted and unmapped {Device}")]
    private partial void LogReleased(string volume, string device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume}: could not grow the filesystem at {Mountpoint} to its device; it keeps its old size until the next mount")]
    private partial void LogGrowAtMountFailed(Exception e, string volume, string mountpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume}: could not grow the unmounted filesystem on {Device} before mounting; growing it online after the mount instead")]
    private partial void LogGrowBeforeMountFailed(Exception e, string volume, string device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Released lost volume {Volume} here; it will not be re-acquired automatically")]
    private partial void LogReleasedLost(string volume);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume}: its mapping {Device} outlived its server (the plugin stopped); re-attached with a new client and mounted again at {Mountpoint}")]
    private partial void LogRevived(string volume, string device, string mountpoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing lost volume {Volume}: {Step} failed")]
    private partial void LogLostStepFailed(Exception e, string volume, string step);
}
