using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// The Ceph side of Create and Remove, shared by the daemon's verbs (under its per-volume lock) and the runbook CLI:
/// image plus index entry, created idempotently and removed by the configured action. Knows nothing of this host.
/// </summary>
internal sealed partial class VolumeStore(
    ICephImages images,
    ICephTrash trash,
    ImageStaging staging,
    VolumeCatalog catalog,
    TrashIndex trashIndex,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<VolumeStore> logger)
{
    /// <summary>Creates the image and its index entry. Idempotent: the same spec again is success, another is a Conflict.</summary>
    public async Task<VolumeRecord> CreateAsync(string name, VolumeSpec spec, CancellationToken ct)
    {
        if (await catalog.GetAsync(name, ct) is { } existing)
        {
            if (await images.PeekImageAsync(existing.Image, ct) is not null)
            {
                EnsureSameSpec(existing, spec);
                return existing;
            }

            // The image was deleted behind our back (e.g. `rbd rm`): forget it and create anew.
            LogStaleIndexEntry(name, existing.Image.ToString());
            await catalog.RemoveAsync(name, ct);
        }

        var record = new VolumeRecord(name, settings.Namespace, spec, time.GetUtcNow(), settings.HostId);
        // Made under a staging name and renamed into place (see ImageStaging): whatever step a kill -9 interrupts,
        // this name never holds a half-made image, and the next Create clears the leftovers.
        await staging.ClearAsync(name, ct);
        var createdHere = await images.PeekImageAsync(record.Image, ct) is null
            && await staging.MakeAsync(name, record.Image, image => images.CreateImageAsync(record.ToCreateRequest() with { Image = image }, ct), ct);
        if (!createdHere)
        {
            // The name is taken: either a crash between image and index last time (the image carries our record:
            // finish the job), or somebody else's image (refuse: never adopt data we did not create).
            record = await staging.OurRecordAsync(record.Image, ct) ?? throw new VolumeException(VolumeErrorKind.Conflict,
                $"an RBD image named {record.Image} already exists and was not created by rbd-plugin; choose another volume name");
            EnsureSameSpec(record, spec);
        }

        try
        {
            await catalog.PutAsync(record, ct);
        }
        catch when (createdHere)
        {
            await images.RemoveImageAsync(record.Image, CancellationToken.None); // no half volumes
            throw;
        }

        LogCreated(name, record.Image.ToString(), ByteSize.Format(spec.SizeBytes), spec.FsType);
        return record;
    }

    private static void EnsureSameSpec(VolumeRecord existing, VolumeSpec asked)
    {
        var differences = existing.Spec.DifferencesFrom(asked).ToList();
        if (differences.Count > 0)
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"volume {existing.Name} already exists with other options: {string.Join("; ", differences)}; remove it first or use another name");
        }
    }

    /// <summary>
    /// Removes the volume's image (trash, delete or keep) and index entry. Idempotent: false when it was already gone.
    /// Refuses (InUse) while any client watches the image; the caller checks its own host and the lease first.
    /// </summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken ct)
    {
        if (await catalog.GetAsync(name, ct) is not { } record)
        {
            return false; // already gone
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
        return true;
    }

    /// <summary>Clients watching the image; none when the image is gone.</summary>
    public Task<IReadOnlyList<Watcher>> WatchersOrNoneAsync(ImageRef image, CancellationToken ct) => images.ListWatchersOrNoneAsync(image, ct);

    /// <summary>
    /// Remembers what we put in the trash (the purger only ever deletes our own images): the record first, keyed by
    /// the image's id, then the move. A kill -9 between the two leaves a record whose image is still a volume (the
    /// next Remove writes it again and moves the image; the purger leaves such a record alone), never an image in
    /// Ceph's trash that our index does not know, which nothing would ever list or purge.
    /// </summary>
    private async Task TrashAsync(VolumeRecord record, CancellationToken ct)
    {
        var id = await images.GetImageIdAsync(record.Image, ct);
        if (id is null)
        {
            return; // moved already (killed after the move last time: its record is there) or deleted
        }

        var expires = time.GetUtcNow() + settings.TrashExpiry;
        await trashIndex.PutAsync(new TrashRecord(record.Name, record.Spec.Pool, record.Namespace, id, expires), ct);
        var moved = await trash.TrashImageAsync(record.Image, settings.TrashExpiry, ct);
        if (moved is not null && moved != id)
        {
            // The name held another image by the time of the move (replaced in between): it is in the trash now too.
            await trashIndex.PutAsync(new TrashRecord(record.Name, record.Spec.Pool, record.Namespace, moved, expires), ct);
        }
    }

    private async Task DeleteAsync(VolumeRecord record, CancellationToken ct)
    {
        try
        {
            await images.RemoveImageAsync(record.Image, ct);
        }
        catch (CephException e) when (e.Errno == Errno.ENOTEMPTY)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {record.Name} has snapshots or clones: remove its snapshots (`rbd-plugin snapshot ls {record.Name}`, then `snapshot rm`) " +
                $"and remove or flatten the volumes cloned from them (`rbd-plugin volume flatten CLONE`); `rbd snap ls --all {record.Image}` shows them all", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created volume {Volume} as {Image} ({Size}, {FsType})")]
    private partial void LogCreated(string volume, string image, string size, string fsType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume}: image {Image} is gone (deleted outside the plugin); dropping its index entry")]
    private partial void LogStaleIndexEntry(string volume, string image);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed volume {Volume} ({Image}, action {Action})")]
    private partial void LogRemoved(string volume, string image, string action);
}
