using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>What <see cref="BackupCreator"/> wrote, and the superseded snapshot it removed (null when none).</summary>
internal sealed record BackupCreated(BackupManifest Manifest, string Directory, string? RemovedSnapshot, string? Warning);

/// <summary>
/// <c>backup create</c>: snapshot the volume's image, export the changes since the last backup in the same
/// directory (everything, starting a new chain, for the first, on request, or when that backup's snapshot is gone
/// or its chain broken), then seal: data fsynced and renamed, manifest written atomically, last. Only then the snapshot of the newest complete
/// backup before it is removed, so the image keeps exactly one backup snapshot per backup directory; nothing but the
/// plugin's own backup snapshots is ever removed. A failure undoes its own snapshot
/// and files; a crash leaves temp files the next run in the same directory removes.
/// </summary>
internal sealed class BackupCreator(VolumeCatalog catalog, IBackupSnapshots snapshots, RbdDiff diff, VolumeKeys keys, TimeProvider time)
{
    /// <param name="full">Start a new chain even when an incremental is possible (so older chains can be pruned).</param>
    public async Task<BackupCreated> CreateAsync(string volume, BackupDirectory directory, bool full, CancellationToken ct)
    {
        VolumeName.Validate(volume);
        var record = await RequireVolumeAsync(volume, ct);
        var image = record.Image;
        using var dirLock = directory.Lock(volume);

        var stored = directory.Read(volume);
        foreach (var leftover in stored.Where(b => b.Interrupted))
        {
            // We hold the lock: nobody else is writing these. Their snapshots, if taken, are ours to drop.
            await CephErrors.Guard($"remove the snapshot of interrupted backup {leftover.Id}",
                () => snapshots.RemoveAsync(image, BackupId.Snapshot(leftover.Id), ct));
            directory.Delete(volume, leftover.Id);
        }

        var verified = await BackupVerifier.VerifyAsync([.. stored.Where(b => !b.Interrupted)], checksums: false, ct);
        var newestComplete = verified.Where(v => v.IsComplete).Select(v => v.Backup.Manifest!).MaxBy(m => m.CreatedAt);
        var parent = !full && newestComplete is not null &&
                     await CephErrors.Guard("look up the last backup's snapshot", () => snapshots.ExistsAsync(image, newestComplete.Snapshot, ct))
            ? newestComplete
            : null;
        var newest = verified.Where(v => v.Backup.Manifest is not null).MaxBy(v => v.Backup.Manifest!.CreatedAt);

        // Still wrapped: making a backup needs no key-encryption key, restoring one does.
        var wrappedKey = record.Spec.Encrypted ? await keys.ReadAsync(record, ct) : null;
        var now = time.GetUtcNow();
        var id = BackupId.New(now);
        var snapshot = BackupId.Snapshot(id);
        var consistency = await CephErrors.Guard($"snapshot {image}", () => snapshots.CreateAsync(volume, image, snapshot, ct));
        BackupManifest manifest;
        try
        {
            manifest = await WriteAsync(directory.VolumeDirectory(volume), record, id, now, snapshot, parent, wrappedKey, ct);
        }
        catch
        {
            // Undo even when cancelled: no manifest was written, so nothing here may look like a backup.
            directory.Delete(volume, id);
            await snapshots.RemoveAsync(image, snapshot, CancellationToken.None);
            throw;
        }

        // Superseded now that this backup holds: the snapshot of the newest complete backup (the one the image kept
        // for this directory), and those of backups whose manifest is gone (deleted by hand, or a crash between sealing
        // the data and writing the manifest), which nothing here can build on any more and which would otherwise stay
        // on the image for good. Only the plugin's own snapshot names, never one a manifest merely claims (invariant
        // 9): the verifier refuses a manifest whose snapshot is not rbd-plugin-backup-ID of its own id; the name of a
        // stray comes from its file name, a valid id.
        var warnings = consistency is null ? new List<string>() : [consistency];
        var superseded = newestComplete is not null && IsOwnSnapshot(newestComplete.Snapshot)
            && (parent is not null || await CephErrors.Guard("look up the last backup's snapshot", () => snapshots.ExistsAsync(image, newestComplete.Snapshot, ct)))
            ? newestComplete.Snapshot
            : null;
        if (newest is { IsComplete: false, Backup.Manifest: { } damaged } && damaged.Snapshot == BackupId.Snapshot(damaged.Id)
            && await CephErrors.Guard("look up the last backup's snapshot", () => snapshots.ExistsAsync(image, damaged.Snapshot, ct)))
        {
            // Its snapshot may be all that is left of it: an operator decides, not a backup run.
            warnings.Add($"the previous backup {damaged.Id} is {newest.Status} ({newest.Problem}), so its snapshot {image}@{damaged.Snapshot} was kept; " +
                $"once it is not needed, remove it with `rbd snap rm {image}@{damaged.Snapshot}`");
        }

        var strays = stored.Where(b => b.ManifestMissing).Select(b => BackupId.Snapshot(b.Id));
        string? removed = null;
        foreach (var stale in (superseded is null ? strays : strays.Prepend(superseded)).Distinct(StringComparer.Ordinal))
        {
            try
            {
                await snapshots.RemoveAsync(image, stale, ct);
                if (stale == superseded)
                {
                    removed = stale;
                }
            }
            catch (CephException e)
            {
                // The backup is complete and sealed; a leftover snapshot only costs space.
                warnings.Add($"could not remove the superseded backup snapshot {image}@{stale} ({e.Message}); remove it with `rbd snap rm {image}@{stale}`");
            }
        }

        return new BackupCreated(manifest, directory.VolumeDirectory(volume), removed, warnings.Count == 0 ? null : string.Join("; ", warnings));
    }

    /// <summary>A snapshot name of the shape only backups make: the prefix and a valid backup id.</summary>
    private static bool IsOwnSnapshot(string snapshot) =>
        snapshot.StartsWith(BackupId.SnapshotPrefix, StringComparison.Ordinal) && BackupId.IsValid(snapshot[BackupId.SnapshotPrefix.Length..]);

    private async Task<VolumeRecord> RequireVolumeAsync(string volume, CancellationToken ct)
    {
        var record = await CephErrors.Guard($"look up volume {volume}", async () =>
            (await catalog.FindAsync(volume, ct))?.Record);
        return record ?? throw new VolumeException(VolumeErrorKind.NotFound,
            $"no such volume: {volume}; only volumes made by rbd-plugin can be backed up (`rbd-plugin volume ls` lists them)");
    }

    private async Task<BackupManifest> WriteAsync(string dir, VolumeRecord record, string id, DateTimeOffset now, string snapshot,
        BackupManifest? parent, WrappedPassphrase? wrappedKey, CancellationToken ct)
    {
        var dataName = id + BackupDirectory.DataSuffix;
        var data = Path.Combine(dir, dataName);
        var temp = data + BackupDirectory.TempSuffix;
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("backups keep Unix file modes: Linux only");
        }

        await HostErrors.Guard($"export {record.Image}@{snapshot}", () => diff.ExportAsync(record.Image, snapshot, parent?.Snapshot, temp, ct));
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite); // the volume's data: root only
        var (bytes, sha256) = await SealAsync(temp, ct);
        RbdDiffHeader header;
        try
        {
            header = RbdDiffHeader.Read(temp);
        }
        catch (FormatException e)
        {
            throw new VolumeException(VolumeErrorKind.HostCommandFailed, $"rbd export-diff wrote a file this rbd-plugin cannot read ({e.Message}); is the rbd CLI a supported version?", e);
        }

        File.Move(temp, data);
        var manifest = new BackupManifest(BackupManifest.CurrentSchema, id, record.Name, now, parent?.Id, snapshot, record.Image.ToString(),
            header.SizeBytes, record.Spec, [new BackupFile(dataName, bytes, sha256)], wrappedKey);
        // Written last, durably (fsync, rename, fsync of the directory, which also persists the data file's rename).
        AtomicFile.Write(Path.Combine(dir, id + BackupDirectory.ManifestSuffix), manifest.ToJsonBytes());
        return manifest;
    }

    /// <summary>Flushes the file to disk and returns its length and SHA-256, as read back.</summary>
    private static async Task<(long Bytes, string Sha256)> SealAsync(string path, CancellationToken ct)
    {
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Flush(flushToDisk: true);
        }

        return (new FileInfo(path).Length, await BackupVerifier.Sha256Async(path, ct));
    }
}
