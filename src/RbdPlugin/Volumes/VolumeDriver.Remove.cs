using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    public const string TrashIndexObject = "rbd-plugin.trash";

    /// <inheritdoc />
    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        using var _ = await _locks.AcquireAsync(name, ct);
        if (journal.Get(name) is { } entry)
        {
            if (entry.TotalRefs > 0)
            {
                throw new VolumeException(VolumeErrorKind.InUse,
                    $"volume {name} is in use: mounted on host {settings.HostId} at {entry.Mountpoint} by {entry.TotalRefs} container mount(s); stop those containers first");
            }

            CancelPendingRelease(name);
            await HostErrors.Guard($"unmount of volume {name} before removing it", () => ReleaseAsync(entry, ct));
        }

        await CephErrors.Guard($"remove {name}", () => RemoveLockedAsync(name, ct));
    }

    private async Task RemoveLockedAsync(string name, CancellationToken ct)
    {
        if (await catalog.GetAsync(name, ct) is not { } record)
        {
            return; // already gone
        }

        var watchers = await WatchersOrNoneAsync(record.Image, ct);
        if (watchers.Count > 0)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name} is in use elsewhere: the image {record.Image} is open by {string.Join(", ", watchers.Select(w => $"client.{w.Id} at {w.Address}"))} (mapped on another host?); unmount it there first (`rbd status {record.Image}` shows the watchers)");
        }

        switch (settings.RemoveAction)
        {
            case RemoveAction.Trash:
                await TrashAsync(record, ct);
                break;
            case RemoveAction.Delete:
                await DeleteAsync(record, ct);
                break;
            case RemoveAction.Keep:
                break;
        }

        await catalog.RemoveAsync(name, ct);
        LogRemoved(name, record.Image.ToString(), settings.RemoveAction.ToString().ToLowerInvariant());
    }

    private async Task<IReadOnlyList<Watcher>> WatchersOrNoneAsync(ImageRef image, CancellationToken ct)
    {
        try
        {
            return await ceph.ListWatchersAsync(image, ct);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            return [];
        }
    }

    private async Task TrashAsync(VolumeRecord record, CancellationToken ct)
    {
        var expires = time.GetUtcNow() + settings.TrashExpiry;
        var id = await ceph.TrashImageAsync(record.Image, settings.TrashExpiry, ct);
        if (id is not null)
        {
            // Remember what we put in the trash, so the purger only ever deletes our own images.
            var entry = new TrashRecord(record.Name, record.Spec.Pool, record.Namespace, id, expires);
            await ceph.SetOmapKeyAsync(settings.Pool, settings.Namespace, TrashIndexObject, id, entry.ToJson(), ct);
        }
    }

    private async Task DeleteAsync(VolumeRecord record, CancellationToken ct)
    {
        try
        {
            await ceph.RemoveImageAsync(record.Image, ct);
        }
        catch (CephException e) when (e.Errno == Errno.ENOTEMPTY)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {record.Name} has snapshots or clones; remove them first (`rbd snap ls {record.Image}`)", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed volume {Volume} ({Image}, action {Action})")]
    private partial void LogRemoved(string volume, string image, string action);
}
