using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>A removed volume waiting in Ceph's trash.</summary>
/// <param name="SizeBytes">The image's size; null if it could not be opened.</param>
internal sealed record TrashedVolume(string Name, string ImageId, string Pool, string Namespace, ulong? SizeBytes, DateTimeOffset RemovedAt, DateTimeOffset ExpiresAt);

/// <summary>What a purge did: the entries deleted for good, and those it could not delete with the reason.</summary>
internal sealed record TrashPurgeOutcome(IReadOnlyList<TrashRecord> Purged, IReadOnlyList<(TrashRecord Record, string Error)> Failed);

/// <summary>
/// The volumes Remove moved to Ceph's trash, as the <see cref="TrashIndex"/> records them: list, restore, purge. Only entries of that index are ever touched: other tools'
/// trash in the same pool is not ours. Shared by the runbook CLI and the daemon's <see cref="TrashPurger"/>.
/// </summary>
internal sealed class VolumeTrash(ICephTrash trash, ICephImages images, TrashIndex index, VolumeCatalog catalog, VolumeKeys keys, TimeProvider time)
{
    /// <summary>Our entries still in Ceph's trash, oldest removal first.</summary>
    public async Task<IReadOnlyList<TrashedVolume>> ListAsync(CancellationToken ct)
    {
        var list = new List<TrashedVolume>();
        foreach (var (record, entry) in await JoinAsync(ct))
        {
            if (entry is null)
            {
                continue; // purged or restored outside the plugin (a purge drops the record), or not moved yet by a Remove that was killed
            }

            var size = await trash.StatTrashedImageAsync(record.Pool, record.Namespace, record.TrashId, ct);
            var expires = DateTimeOffset.FromUnixTimeSeconds(record.Expires.ToUnixTimeSeconds()); // whole seconds, like Ceph's times
            list.Add(new TrashedVolume(record.Name, record.TrashId, record.Pool, record.Namespace, size, entry.DeletedAt, expires));
        }

        return list.OrderBy(v => v.RemovedAt).ThenBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Brings a trashed volume back (the image, then its index entry, so Docker lists it again) as
    /// <paramref name="asName"/> or its old name; <paramref name="nameOrId"/> is a volume name (its latest removal)
    /// or an image id from <c>trash ls</c>. Refused (Conflict) while a volume of the target name exists.
    /// Idempotent across a crash: an entry already out of the trash under that name is finished, not refused.
    /// </summary>
    public async Task<(TrashRecord Record, VolumeRecord Volume)> RestoreAsync(string nameOrId, string? asName, CancellationToken ct)
    {
        var candidates = (await JoinAsync(ct)).Where(j => j.Record.TrashId == nameOrId || j.Record.Name == nameOrId).ToList();
        if (candidates.Count == 0)
        {
            throw new VolumeException(VolumeErrorKind.NotFound,
                $"{nameOrId} is not in the plugin's trash; `rbd-plugin trash ls` lists what can be restored");
        }

        var (record, entry) = candidates.OrderByDescending(c => c.Entry is not null).ThenByDescending(c => c.Entry?.DeletedAt).First();
        var target = asName ?? record.Name;
        VolumeName.Validate(target);
        var image = new ImageRef(record.Pool, record.Namespace, target);
        if (entry is not null)
        {
            await MoveBackAsync(record, image, nameOrId, ct);
        }
        else if (await images.GetImageIdAsync(image, ct) != record.TrashId)
        {
            // Not in Ceph's trash and not restored as the target by us: purged (or restored elsewhere) by another tool.
            await index.RemoveAsync(record.TrashId, ct);
            throw new VolumeException(VolumeErrorKind.NotFound,
                $"{nameOrId} (image id {record.TrashId}) is no longer in the trash of pool {record.Pool}: it was purged or restored outside the plugin");
        }

        var volume = await RecordOnImageAsync(image, ct);
        if (volume.Name != target)
        {
            if (volume.Spec.Encrypted)
            {
                // Its wrapped passphrase names the old image: wrapped again for the new name (needs the KEK).
                await keys.RewrapForRenameAsync(volume, image, ct);
            }

            volume = volume with { Name = target };
            await images.SetImageMetadataAsync(image, VolumeRecord.MetadataKey, volume.ToJson(), ct);
        }

        await catalog.PutAsync(volume, ct);
        await index.RemoveAsync(record.TrashId, ct);
        return (record, volume);
    }

    /// <summary>
    /// Deletes trashed volumes for good: those named <paramref name="nameOrId"/> (every removal of that name, or
    /// the one image id), or all; with <paramref name="expiredOnly"/> only those whose expiry has passed (the
    /// trash's own protection then still applies: nothing is purged early). An operator's explicit purge forces.
    /// Idempotent: nothing to purge is success. One entry that cannot be purged does not stop the others.
    /// </summary>
    public async Task<TrashPurgeOutcome> PurgeAsync(string? nameOrId, bool expiredOnly, CancellationToken ct)
    {
        var purged = new List<TrashRecord>();
        var failed = new List<(TrashRecord, string)>();
        var now = time.GetUtcNow();
        var trashed = new Dictionary<(string Pool, string Ns), HashSet<string>>();
        foreach (var (key, record) in await index.ReadAllAsync(ct))
        {
            if (record is null)
            {
                if (nameOrId is null)
                {
                    await index.RemoveAsync(key, ct); // damaged: names nothing we could purge
                }

                continue;
            }

            var named = nameOrId is null || record.Name == nameOrId || record.TrashId == nameOrId;
            if (!named || (expiredOnly && record.Expires > now))
            {
                continue;
            }

            if (!await InTrashAsync(record, trashed, ct))
            {
                await DropUnlessStillAVolumeAsync(key, record, ct);
                continue;
            }

            try
            {
                await trash.RemoveFromTrashAsync(record.Pool, record.Namespace, record.TrashId, force: !expiredOnly, ct);
                await index.RemoveAsync(key, ct);
                purged.Add(record);
            }
            catch (CephException e) when (e.Errno == Errno.EPERM && expiredOnly)
            {
                // Ceph's deferment ends a second after our expiry at most (it rounds up): next pass.
            }
            catch (CephException e) when (e.Errno is Errno.ENOTEMPTY or Errno.EBUSY or Errno.EPERM)
            {
                failed.Add((record, WhyNot(record, e)));
            }
        }

        return new TrashPurgeOutcome(purged, failed);
    }

    private async Task<bool> InTrashAsync(TrashRecord record, Dictionary<(string Pool, string Ns), HashSet<string>> trashed, CancellationToken ct)
    {
        if (!trashed.TryGetValue((record.Pool, record.Namespace), out var ids))
        {
            ids = (await trash.ListTrashAsync(record.Pool, record.Namespace, ct)).Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
            trashed[(record.Pool, record.Namespace)] = ids;
        }

        return ids.Contains(record.TrashId);
    }

    /// <summary>
    /// A record whose image is not in Ceph's trash: either a Remove killed between writing it and moving the image
    /// (the image is still the volume, under its name: keep the record, the next Remove moves the image), or an
    /// image purged or restored outside the plugin (drop the record). Never reported as purged.
    /// </summary>
    private async Task DropUnlessStillAVolumeAsync(string key, TrashRecord record, CancellationToken ct)
    {
        if (await images.GetImageIdAsync(new ImageRef(record.Pool, record.Namespace, record.Name), ct) != record.TrashId)
        {
            await index.RemoveAsync(key, ct);
        }
    }

    private static string WhyNot(TrashRecord record, CephException e) => e.Errno switch
    {
        Errno.ENOTEMPTY => $"{record.Name} (image id {record.TrashId}) has snapshots: restore it (`rbd-plugin trash restore {record.TrashId} --as NEW`), remove its snapshots, then remove and purge it",
        Errno.EBUSY => $"{record.Name} (image id {record.TrashId}) has clones or is open: flatten its clones (`rbd-plugin volume flatten CLONE`) or remove them first",
        _ => $"{record.Name} (image id {record.TrashId}): {e.Message}",
    };

    private async Task MoveBackAsync(TrashRecord record, ImageRef image, string nameOrId, CancellationToken ct)
    {
        if (await catalog.FindAsync(image.Name, ct) is not null)
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"volume {image.Name} exists now; restore under another name: `rbd-plugin trash restore {nameOrId} --as NEW_NAME`");
        }

        try
        {
            if (!await trash.RestoreFromTrashAsync(record.Pool, record.Namespace, record.TrashId, image.Name, ct))
            {
                throw new VolumeException(VolumeErrorKind.NotFound,
                    $"{nameOrId} (image id {record.TrashId}) left the trash of pool {record.Pool} while restoring; see `rbd-plugin trash ls`");
            }
        }
        catch (CephException e) when (e.Errno == Errno.EEXIST)
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"an RBD image named {image} already exists (not a volume of this plugin); restore under another name: `rbd-plugin trash restore {nameOrId} --as NEW_NAME`", e);
        }
    }

    private async Task<VolumeRecord> RecordOnImageAsync(ImageRef image, CancellationToken ct)
    {
        var info = await images.StatImageAsync(image, [VolumeRecord.MetadataKey], ct);
        var record = info?.Metadata.TryGetValue(VolumeRecord.MetadataKey, out var json) == true ? VolumeRecord.FromJson(json) : null;
        if (record is null)
        {
            throw new VolumeException(VolumeErrorKind.Unavailable,
                $"restored image {image} carries no rbd-plugin record (metadata {VolumeRecord.MetadataKey}); it is back in the pool but not a volume: inspect it with `rbd info {image}`");
        }

        try
        {
            // Checked as the volume it becomes (--as may rename it; the caller then rewrites the name).
            _ = catalog.TrustedImageRecord(image, (record with { Name = image.Name }).ToJson());
        }
        catch (VolumeException e) when (e.Kind == VolumeErrorKind.Damaged)
        {
            throw new VolumeException(VolumeErrorKind.Damaged, $"restored image {image} is back in the pool but not listed as a volume: {e.Message}", e);
        }

        return record;
    }

    /// <summary>Our trash records, each with its entry in Ceph's trash (null when it is not there any more).</summary>
    private async Task<List<(TrashRecord Record, TrashEntry? Entry)>> JoinAsync(CancellationToken ct)
    {
        var records = (await index.ReadAllAsync(ct)).Select(e => e.Record).OfType<TrashRecord>().ToList();
        var joined = new List<(TrashRecord, TrashEntry?)>();
        foreach (var group in records.GroupBy(r => (r.Pool, r.Namespace)))
        {
            var entries = (await trash.ListTrashAsync(group.Key.Pool, group.Key.Namespace, ct)).ToDictionary(e => e.Id, StringComparer.Ordinal);
            joined.AddRange(group.Select(r => (r, entries.GetValueOrDefault(r.TrashId))));
        }

        return joined;
    }
}
