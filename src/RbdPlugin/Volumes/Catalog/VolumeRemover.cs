using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Removes a volume so that no host ever mounts it half-deleted. The index entry goes first, so a Mount anywhere
/// finds no volume from then on, even once a delete that takes longer than the lease has let the lease lapse; then
/// the image is deleted, trashed or kept (RemoveAction). An intent written before the index entry goes keeps the
/// record until the image is dealt with, so a kill -9 in between converges: the next Remove of the name, or the next
/// Create of it (which must not adopt the data of a volume its user removed), finishes the job.
/// </summary>
internal sealed partial class VolumeRemover(
    IRadosOmap omap,
    ICephImages images,
    ICephTrash trash,
    VolumeCatalog catalog,
    TrashIndex trashIndex,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<VolumeRemover> logger)
{
    public const string IndexObject = "rbd-plugin.removing";

    private RadosObject Index => new(settings.Pool, settings.Namespace, IndexObject);

    /// <summary>Removes the volume of <paramref name="record"/> (the caller checked that no client has it open).</summary>
    public async Task RemoveAsync(VolumeRecord record, CancellationToken ct)
    {
        await omap.SetOmapKeyAsync(Index, record.Name, new RemovalIntent(record.ToJson(), settings.HostId, time.GetUtcNow()).ToJson(), ct);
        await catalog.RemoveAsync(record.Name, ct);
        try
        {
            await DisposeImageAsync(record, ct);
        }
        catch (Exception e) when (e is VolumeException { Kind: VolumeErrorKind.InUse } or CephException { Errno: Errno.EBUSY })
        {
            // librbd refuses before it deletes anything (snapshots, or opened since the check): the volume is whole,
            // so it comes back as it was.
            await catalog.PutAsync(record, CancellationToken.None);
            await omap.RemoveOmapKeyAsync(Index, record.Name, CancellationToken.None);
            throw;
        }

        await omap.RemoveOmapKeyAsync(Index, record.Name, ct);
        LogRemoved(record.Name, record.Image.ToString(), settings.RemoveAction.ToString().ToLowerInvariant());
    }

    /// <summary>
    /// Finishes a Remove of <paramref name="name"/> that was killed after its index entry went (call it only when the
    /// index has no entry for the name). True when there was one to finish. Another host's Remove younger than
    /// <see cref="ImageStaging.AbandonedAfter"/> may still be running: Conflict. The intent is read back from Ceph and
    /// trusted no further than an index entry, and only an image that still carries the same creation record is
    /// deleted or trashed.
    /// </summary>
    public async Task<bool> FinishLeftoverAsync(string name, CancellationToken ct)
    {
        if (await omap.ReadOmapKeyAsync(Index, name, ct) is not { } json)
        {
            return false;
        }

        var intent = RemovalIntent.FromJson(json);
        var record = intent is null ? null : VolumeRecord.FromJson(intent.Record);
        if (intent is null || StoredRecord.Problem(record, name, pool: null, settings) is not null)
        {
            LogIgnored(StoredRecord.Quote(name));
        }
        else if (intent.Host != settings.HostId && time.GetUtcNow() - intent.Since < ImageStaging.AbandonedAfter)
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"volume {name} is being removed on host {StoredRecord.Printable(intent.Host)} (since {intent.Since:u}); try again once that Remove is done");
        }
        else if (await ImageRecordAsync(record!.Image, ct) is { } onImage && onImage.CreatedAt == record.CreatedAt)
        {
            await DisposeImageAsync(record, ct);
            LogFinished(name, record.Image.ToString(), intent.Host);
        }

        await omap.RemoveOmapKeyAsync(Index, name, ct);
        return true;
    }

    /// <summary>The record the image carries, if it is there and trusted; null otherwise (gone, not ours, damaged).</summary>
    private async Task<VolumeRecord?> ImageRecordAsync(ImageRef image, CancellationToken ct)
    {
        try
        {
            return await catalog.ImageRecordAsync(image, ct);
        }
        catch (VolumeException)
        {
            return null;
        }
    }

    private Task DisposeImageAsync(VolumeRecord record, CancellationToken ct) => settings.RemoveAction switch
    {
        RemoveAction.Trash => TrashAsync(record, ct),
        RemoveAction.Delete => DeleteAsync(record, ct),
        _ => Task.CompletedTask,
    };

    /// <summary>
    /// Remembers what we put in the trash (the purger only ever deletes our own images): the record first, keyed by
    /// the image's id, then the move. A kill -9 between the two leaves a record whose image is still there (the
    /// removal intent moves it next time; the purger leaves such a record alone), never an image in Ceph's trash
    /// that our index does not know, which nothing would ever list or purge.
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed volume {Volume} ({Image}, action {Action})")]
    private partial void LogRemoved(string volume, string image, string action);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Finished the removal of volume {Volume} ({Image}) that host {Host} began and did not finish")]
    private partial void LogFinished(string volume, string image, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped the removal intent of {Volume}: it holds no record this plugin may use; no image was touched")]
    private partial void LogIgnored(string volume);
}
