namespace RbdPlugin.Backups;

// The JSON `backup create|ls|prune|restore --json` print: camelCase, every field always present (null when unknown).
// docs/runbook.md documents them and BackupCliJsonSchemaTests pin them. Failures print CliError.

/// <summary><c>backup create</c>: the backup written, and the superseded snapshot removed from the image.</summary>
/// <param name="Kind">"full" or "incremental".</param>
/// <param name="RemovedSnapshot">The previous backup's snapshot, removed from the image now that this one holds; null when there was none.</param>
/// <param name="Warning">Something to tidy by hand that did not make the backup fail; null when none.</param>
internal sealed record BackupCreateResult(string Id, string Volume, string Kind, string? ParentId, DateTimeOffset CreatedAt, string Snapshot,
    string Directory, string File, long Bytes, string Sha256, ulong ImageSizeBytes, string? RemovedSnapshot, string? Warning);

/// <summary>One backup of <c>backup ls</c>; only id, volume and status are known for a backup whose manifest is missing or unreadable.</summary>
/// <param name="Status">"complete", "corrupt" or "incomplete" (its own data, or any backup it builds on).</param>
/// <param name="Problem">What is wrong; null when complete.</param>
internal sealed record BackupListItem(string Id, string Volume, string? Kind, string? ParentId, DateTimeOffset? CreatedAt, ulong? ImageSizeBytes,
    long? Bytes, string Status, string? Problem);

/// <summary><c>backup prune</c>: what was kept and deleted (would be, with <paramref name="DryRun"/>), ids newest first.</summary>
/// <param name="Directory">The volume's backup directory, DIR/NAME.</param>
/// <param name="Kept">The newest N complete backups and every backup they build on.</param>
/// <param name="Skipped">Backups left alone although not kept: no readable manifest, or the newest backup being damaged.</param>
internal sealed record BackupPruneResult(string Volume, string Directory, IReadOnlyList<string> Kept, IReadOnlyList<string> Deleted,
    IReadOnlyList<BackupPruneSkipped> Skipped, bool DryRun);

/// <summary>A backup <c>backup prune</c> did not touch, and why.</summary>
internal sealed record BackupPruneSkipped(string Id, string Problem);

/// <summary><c>backup restore</c>: the new volume and the backups applied, full backup first.</summary>
internal sealed record BackupRestoreResult(string Name, string Image, string BackupId, IReadOnlyList<string> Chain, ulong SizeBytes, string Fstype);
