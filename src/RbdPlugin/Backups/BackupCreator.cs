using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>What <see cref="BackupCreator"/> wrote, and the superseded snapshot it removed (null when none).</summary>
internal sealed record BackupCreated(BackupManifest Manifest, string Directory, string? RemovedSnapshot, string? Warning);

/// <summary>
/// <c>backup create</c>: snapshot the volume's image, export the changes since the last backup in the same
/// directory (everything, starting a new chain, for the first, on request, or when that backup's snapshot is gone
/// or its chain broken), then seal: data fsynced and renamed, manifest written atomically, last. Only then the previous backup's snapshot is
/// removed, so the image keeps exactly one backup snapshot per backup directory. A failure undoes its own snapshot
/// and files; a crash leaves temp files the next run in the same directory removes.
/// </summary>
internal sealed class BackupCreator(VolumeCatalog catalog, IBackupSnapshots snapshots, RbdDiff diff, TimeProvider time)
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
        var previous = verified.Select(v => v.Backup.Manifest).OfType<BackupManifest>().MaxBy(m => m.CreatedAt);

        var now = time.GetUtcNow();
        var id = BackupId.New(now);
        var snapshot = BackupId.Snapshot(id);
        var consistency = await CephErrors.Guard($"snapshot {image}", () => snapshots.CreateAsync(volume, image, snapshot, ct));
        BackupManifest manifest;
        try
        {
            manifest = await WriteAsync(directory.VolumeDirectory(volume), record, id, now, snapshot, parent, ct);
        }
        catch
        {
            // Undo even when cancelled: no manifest was written, so nothing here may look like a backup.
            directory.Delete(volume, id);
            await snapshots.RemoveAsync(image, snapshot, CancellationToken.None);
            throw;
        }

        // Superseded now that this backup holds: the previous backup's snapshot, and those of backups whose manifest is
        // gone (deleted by hand, or a crash between sealing the data and writing the manifest), which nothing here can
        // build on any more and which would otherwise stay on the image for good.
        var strays = stored.Where(b => b.ManifestMissing).Select(b => BackupId.Snapshot(b.Id));
        var warnings = consistency is null ? new List<string>() : [consistency];
        string? removed = null;
        foreach (var superseded in (previous is null ? strays : strays.Prepend(previous.Snapshot)).Distinct(StringComparer.Ordinal))
        {
            try
            {
                await snapshots.RemoveAsync(image, superseded, ct);
                if (superseded == previous?.Snapshot)
                {
                    removed = superseded;
                }
            }
            catch (CephException e)
            {
                // The backup is complete and sealed; a leftover snapshot only costs space.
                warnings.Add($"could not remove the superseded backup snapshot {image}@{superseded} ({e.Message}); remove it with `rbd snap rm {image}@{superseded}`");
            }
        }

        return new BackupCreated(manifest, directory.VolumeDirectory(volume), removed, warnings.Count == 0 ? null : string.Join("; ", warnings));
    }

    private async Task<VolumeRecord> RequireVolumeAsync(string volume, CancellationToken ct)
    {
        var record = await CephErrors.Guard($"look up volume {volume}", async () =>
            (await catalog.FindAsync(volume, ct))?.Record);
        return record ?? throw new VolumeException(VolumeErrorKind.NotFound,
            $"no such volume: {volume}; only volumes made by rbd-plugin can be backed up (`rbd-plugin volume ls` lists them)");
    }

    private async Task<BackupManifest> WriteAsync(string dir, VolumeRecord record, string id, DateTimeOffset now, string snapshot,
        BackupManifest? parent, CancellationToken ct)
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
            header.SizeBytes, record.Spec, [new BackupFile(dataName, bytes, sha256)]);
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
