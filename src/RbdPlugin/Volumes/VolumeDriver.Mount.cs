using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    /// <inheritdoc />
    public async Task<string> MountAsync(string name, string mountId, CancellationToken ct)
    {
        RequireMountId(mountId);
        using var _ = await LockAsync(name, ct);
        if (journal.Get(name) is { } mounted)
        {
            // Already here (another container, docker cp, or inside the grace period): one more reference.
            CancelPendingRelease(name);
            journal.Save(mounted.AddRef(mountId));
            return mounted.Mountpoint;
        }

        var record = await RequireRecordAsync(name, ct);
        // The lease first: nothing is mapped here while another host may still write (it waits, refuses, or fences).
        var lease = await GuardAsync($"mount {name}",
            () => leases.AcquireAsync(name, record.Image, loss => OnLeaseLostAsync(name, loss), ct));
        if (await GuardAsync($"mount {name}", () => catalog.GetAsync(name, ct)) is null)
        {
            // Removed on another host while this Mount waited for the lease: leave no lease object behind.
            await GuardAsync($"mount {name}", () => leases.DiscardAsync(name, CancellationToken.None));
            throw NoSuchVolume(name);
        }

        JournalEntry entry;
        try
        {
            entry = await HostErrors.Guard($"mount of volume {name}", () => MapFormatMountAsync(record, mountId, lease.Since, ct));
        }
        catch
        {
            await ReleaseLeaseQuietlyAsync(name);
            throw;
        }

        LogMounted(name, entry.Device, entry.Mountpoint, entry.Mapper);
        return entry.Mountpoint;
    }

    /// <inheritdoc />
    public async Task UnmountAsync(string name, string mountId, CancellationToken ct)
    {
        using var _ = await LockAsync(name, ct);
        if (journal.Get(name) is not { } entry || !entry.Refs.ContainsKey(mountId))
        {
            return; // Unknown ID or not mounted: Docker expects success.
        }

        var updated = entry.RemoveRef(mountId);
        journal.Save(updated);
        if (updated.TotalRefs == 0)
        {
            ScheduleRelease(name);
        }
    }

    private async Task<JournalEntry> MapFormatMountAsync(VolumeRecord record, string mountId, DateTimeOffset leaseSince, CancellationToken ct)
    {
        var mapper = mappers.Active;
        var undo = new UndoStack(logger);
        try
        {
            var device = await mapper.MapAsync(record.Image, ct);
            undo.Push($"map of {record.Image} at {device.DevicePath}", () => mapper.UnmapAsync(device, CancellationToken.None));

            var (fsType, formatted) = await EnsureFilesystemAsync(record, device.DevicePath, ct);
            var mountpoint = MountpointOf(record.Name);
            var mountOptions = fsType == record.Spec.FsType ? SplitMountOptions(record.Spec.MountOptions) : [];
            await filesystem.MountAsync(device.DevicePath, mountpoint, fsType, mountOptions, ct);
            undo.Push($"mount at {mountpoint}", () => filesystem.UnmountAsync(mountpoint, CancellationToken.None));
            if (!formatted)
            {
                await GrowAtMountAsync(record.Name, device.DevicePath, mountpoint, fsType, ct);
            }

            var entry = new JournalEntry(record.Name, record.Image, mapper.Name, device.DevicePath, device.Detail, mountpoint,
                fsType, new Dictionary<string, int>(StringComparer.Ordinal) { [mountId] = 1 }, time.GetUtcNow(), leaseSince);
            journal.Save(entry);
            undo.Commit();
            return entry;
        }
        catch
        {
            await undo.RollbackAsync();
            throw;
        }
    }

    /// <summary>
    /// Makes a filesystem only when the probe finds no signature at all (invariant 2: never mkfs over data), and
    /// refuses to mount what is neither of our filesystems (a partition table, LVM, a foreign filesystem).
    /// </summary>
    private async Task<(string FsType, bool Formatted)> EnsureFilesystemAsync(VolumeRecord record, string device, CancellationToken ct)
    {
        var found = await filesystem.ProbeAsync(device, ct);
        if (found is null)
        {
            // Not cancellable: a half-made filesystem would carry a signature and block every later mount.
            await filesystem.MakeAsync(device, record.Spec.FsType, SplitMkfsOptions(record.Spec.MkfsOptions), CancellationToken.None);
            LogFormatted(record.Name, device, record.Spec.FsType);
            return (record.Spec.FsType, true);
        }

        if (FsOptions.FsTypes.Contains(found))
        {
            return (found, false);
        }

        throw new VolumeException(VolumeErrorKind.Conflict,
            $"volume {record.Name}: its device carries a '{found}' signature, which is not a filesystem this plugin mounts; refusing to format or mount it. Inspect the image {record.Image} by hand");
    }

    private void ScheduleRelease(string name)
    {
        var pending = new CancellationTokenSource();
        _pendingReleases.AddOrUpdate(name, pending, (_, old) =>
        {
            old.Cancel();
            return pending;
        });
        _ = ReleaseAfterGraceAsync(name, pending);
    }

    /// <summary>
    /// The real unmount/unmap, after the grace period: Docker mounts, unmounts and mounts again within
    /// milliseconds when it copies image content into a new volume, and a Mount inside the grace period cancels it.
    /// </summary>
    private async Task ReleaseAfterGraceAsync(string name, CancellationTokenSource pending)
    {
        try
        {
            await Task.Delay(settings.UnmountGrace, time, pending.Token);
            using var _ = await _locks.AcquireAsync(name, _shutdown.Token);
            if (pending.IsCancellationRequested || journal.Get(name) is not { TotalRefs: 0 } entry)
            {
                return;
            }

            await ReleaseAsync(entry, _shutdown.Token);
        }
        catch (OperationCanceledException)
        {
            // A Mount took it back, or the daemon is stopping: the journal keeps the entry for the next start.
        }
        catch (Exception e)
        {
            LogReleaseFailed(e, name);
        }
        finally
        {
            _pendingReleases.TryRemove(new KeyValuePair<string, CancellationTokenSource>(name, pending));
            pending.Dispose();
        }
    }

    private void CancelPendingRelease(string name)
    {
        if (_pendingReleases.TryRemove(name, out var pending))
        {
            pending.Cancel();
        }
    }

    /// <summary>Unmounts and unmaps a volume nobody uses any more, then forgets it. Caller holds the volume lock.</summary>
    internal async Task ReleaseAsync(JournalEntry entry, CancellationToken ct)
    {
        await filesystem.UnmountAsync(entry.Mountpoint, ct);
        await mappers.Get(entry.Mapper).UnmapAsync(DeviceOf(entry), ct);
        journal.Delete(entry.Name);
        TryRemoveEmptyDirectory(entry.Mountpoint);
        LogReleased(entry.Name, entry.Device);
        await ReleaseLeaseQuietlyAsync(entry.Name);
    }

    /// <summary>Gives the lease back once nothing of the volume is left here; a failure only delays the next owner
    /// until the lease lapses, so it is logged, not thrown.</summary>
    private async Task ReleaseLeaseQuietlyAsync(string name)
    {
        try
        {
            await leases.ReleaseAsync(name, CancellationToken.None);
        }
        catch (CephException e)
        {
            LogLeaseReleaseFailed(e, name);
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

    private static void RequireMountId(string mountId)
    {
        if (string.IsNullOrWhiteSpace(mountId))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, "mount request without an ID: Docker sends one with every Mount");
        }
    }

    private static string[] SplitMkfsOptions(string options) => options.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string[] SplitMountOptions(string options) => options.Split(',', StringSplitOptions.RemoveEmptyEntries);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mounted volume {Volume}: {Device} at {Mountpoint} ({Mapper})")]
    private partial void LogMounted(string volume, string device, string mountpoint, string mapper);

    [LoggerMessage(Level = LogLevel.Information, Message = "Made {FsType} on {Device} for volume {Volume} (the device carried no signature)")]
    private partial void LogFormatted(string volume, string device, string fsType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released volume {Volume}: unmounted and unmapped {Device}")]
    private partial void LogReleased(string volume, string device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give back the lease of volume {Volume}; it lapses by itself")]
    private partial void LogLeaseReleaseFailed(Exception e, string volume);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not release volume {Volume}; it stays mounted and will be retried at the next Remove or start")]
    private partial void LogReleaseFailed(Exception e, string volume);
}
