namespace RbdPlugin.Backups;

/// <summary>
/// What <c>backup create|ls|prune|restore</c> do, as the results the CLI prints. <c>ls</c> and <c>prune</c> read only
/// the directory; create and restore work on Ceph through <see cref="BackupCreator"/> and <see cref="BackupRestorer"/>.
/// </summary>
internal sealed class BackupOperations(BackupCreator creator, BackupRestorer restorer)
{
    public async Task<BackupCreateResult> CreateAsync(string name, string dir, bool full, CancellationToken ct)
    {
        var created = await creator.CreateAsync(name, BackupDirectory.Open(dir), full, ct);
        var m = created.Manifest;
        var file = m.Files.Single();
        return new BackupCreateResult(m.Id, m.Volume, m.Kind, m.ParentId, m.CreatedAt, m.Snapshot, created.Directory, file.Name, file.Bytes, file.Sha256,
            m.ImageSizeBytes, created.RemovedSnapshot, created.Warning);
    }

    public async Task<BackupRestoreResult> RestoreAsync(string dir, string name, string? at, CancellationToken ct)
    {
        var restored = await restorer.RestoreAsync(BackupDirectory.Open(dir), name, at, ct);
        var volume = restored.Volume;
        return new BackupRestoreResult(volume.Name, volume.Image.ToString(), restored.Chain[^1].Id, [.. restored.Chain.Select(b => b.Id)],
            volume.Spec.SizeBytes, volume.Spec.FsType);
    }

    /// <summary>Every backup in DIR with its chain and status; <paramref name="checksums"/> also reads all the data.</summary>
    public static async Task<IReadOnlyList<BackupListItem>> ListAsync(string dir, bool checksums, CancellationToken ct)
    {
        var directory = BackupDirectory.Open(dir);
        var items = new List<BackupListItem>();
        foreach (var volume in directory.Volumes())
        {
            var verified = await BackupVerifier.VerifyAsync(directory.Read(volume), checksums, ct);
            items.AddRange(verified.OrderBy(v => v.Backup.Manifest?.CreatedAt ?? DateTimeOffset.MaxValue).ThenBy(v => v.Backup.Id, StringComparer.Ordinal)
                .Select(v => v.Backup.Manifest is { } m
                    ? new BackupListItem(m.Id, volume, m.Kind, m.ParentId, m.CreatedAt, m.ImageSizeBytes, m.Bytes, v.Status, v.Problem)
                    : new BackupListItem(v.Backup.Id, volume, null, null, null, null, null, v.Status, v.Problem)));
        }

        return items;
    }

    /// <summary>Keeps the newest <paramref name="keep"/> complete backups of <paramref name="name"/> and their chains.</summary>
    public static async Task<BackupPruneResult> PruneAsync(string name, string dir, int? keep, bool dryRun, bool verify, CancellationToken ct)
    {
        // --keep first: a refused prune must not depend on (or report about) what DIR holds.
        var n = BackupRetention.RequireKeep(keep, name, Path.Combine(Path.GetFullPath(dir), name));
        var pruned = await BackupPruner.PruneAsync(BackupDirectory.Open(dir), name, n, dryRun, verify, ct);
        var plan = pruned.Plan;
        return new BackupPruneResult(name, pruned.Directory, plan.Kept, plan.Deleted, [.. plan.Skipped.Select(s => new BackupPruneSkipped(s.Id, s.Problem))], dryRun);
    }
}
