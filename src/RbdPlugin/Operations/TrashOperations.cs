using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>
/// What <c>rbd-plugin trash ls|restore|purge</c> do, over <see cref="VolumeTrash"/> (the same code the daemon's
/// purger runs): only volumes the plugin itself moved to the trash, never other entries of the pool's trash.
/// </summary>
internal sealed class TrashOperations(VolumeTrash trash)
{
    public Task<IReadOnlyList<TrashListItem>> ListAsync(CancellationToken ct) => CephErrors.Guard("list the trash", async () =>
        (IReadOnlyList<TrashListItem>)(await trash.ListAsync(ct)).Select(v => new TrashListItem(v.Name, v.ImageId, v.Pool,
            v.SizeBytes, v.SizeBytes is { } size ? ByteSize.Format(size) : null, v.RemovedAt, v.ExpiresAt)).ToList());

    public async Task<TrashRestoreResult> RestoreAsync(string nameOrId, string? asName, CancellationToken ct)
    {
        VolumeName.Validate(nameOrId);
        if (asName is not null)
        {
            VolumeName.Validate(asName);
        }

        var (record, volume) = await CephErrors.Guard($"restore {nameOrId}", () => trash.RestoreAsync(nameOrId, asName, ct));
        return new TrashRestoreResult(record.Name, record.TrashId, volume.Name, volume.Image.ToString());
    }

    /// <summary>Purges the named entries, the expired ones, or (<paramref name="all"/>) everything the plugin trashed.
    /// Entries that could not be purged fail the command (exit 5) after the others were purged.</summary>
    public async Task<IReadOnlyList<TrashPurgedItem>> PurgeAsync(string? nameOrId, bool expired, bool all, CancellationToken ct)
    {
        if (nameOrId is null == !(expired || all) || (nameOrId is not null && all))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                "say what to purge: a NAME (or image id), --expired (everything past its expiry) or --all (everything the plugin trashed); NAME and --all exclude each other");
        }

        if (nameOrId is not null)
        {
            VolumeName.Validate(nameOrId);
        }

        var outcome = await CephErrors.Guard("purge the trash", () => trash.PurgeAsync(nameOrId, expired, ct));
        var purged = outcome.Purged.Select(r => new TrashPurgedItem(r.Name, r.TrashId, r.Pool)).ToList();
        if (outcome.Failed.Count > 0)
        {
            var done = purged.Count == 0 ? "nothing was purged" : $"purged {string.Join(", ", purged.Select(p => $"{p.Name} ({p.ImageId})"))}";
            throw new VolumeException(VolumeErrorKind.InUse, $"{done}; could not purge: {string.Join("; ", outcome.Failed.Select(f => f.Error))}");
        }

        return purged;
    }
}
