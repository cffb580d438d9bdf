using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>A backup a prune leaves alone, and why.</summary>
internal sealed record SkippedBackup(string Id, string Problem);

/// <summary>What <c>backup prune</c> keeps and deletes, newest first (deleting in that order never breaks a kept chain).</summary>
internal sealed record RetentionPlan(IReadOnlyList<string> Kept, IReadOnlyList<string> Deleted, IReadOnlyList<SkippedBackup> Skipped);

/// <summary>
/// Which backups of one volume <c>backup prune --keep N</c> keeps: the N newest complete ones (restore points) and
/// every backup they build on, so each stays restorable; every other backup with a manifest is deleted. Never
/// touched: entries without a readable manifest (they may be repairable, and only an operator can tell), and the
/// newest backup with a manifest even when damaged, because the image may still hold its snapshot: the next
/// <c>backup create</c> keeps that snapshot (only complete backups' snapshots are removed by it) and its warning
/// names it, so the operator sees it before this backup's files go. Pure: the caller reads and deletes.
/// </summary>
internal static class BackupRetention
{
    /// <summary>Refuses a missing or zero <c>--keep</c>: prune never empties a directory (InvalidArgument, exit 2).</summary>
    public static int RequireKeep(int? keep, string volume, string volumeDirectory) =>
        keep is >= 1 ? keep.Value : throw new VolumeException(VolumeErrorKind.InvalidArgument,
            $"--keep {(keep is null ? "is missing" : $"{keep} is less than 1")}: prune keeps at least the newest complete backup, which the next incremental builds on; " +
            $"give --keep N (N >= 1). To delete every backup of {volume} instead, do it by hand: `rm -r {volumeDirectory}`, then remove the backup snapshot " +
            $"from the image (`rbd snap ls POOL/{volume}`, `rbd snap rm POOL/{volume}@{BackupId.SnapshotPrefix}ID`)");

    /// <summary>
    /// The plan for one volume's verified backups. Refuses (Damaged, exit 1) when none is complete: deleting would
    /// then leave no restore point, and what is there may still be repaired.
    /// </summary>
    public static RetentionPlan Plan(IReadOnlyList<VerifiedBackup> backups, int keep)
    {
        ArgumentNullException.ThrowIfNull(backups);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        if (!backups.Any(b => b.IsComplete))
        {
            var where = backups.Count > 0 ? backups[0].Backup.Directory : "the directory";
            throw new VolumeException(VolumeErrorKind.Damaged,
                $"no complete backup in {where}: prune deletes nothing when no restore point would be left; " +
                $"`rbd-plugin backup ls {Path.GetDirectoryName(where)} --verify` says what is wrong with each");
        }

        var withManifest = backups.Where(b => b.Backup.Manifest is not null)
            .OrderByDescending(b => b.Backup.Manifest!.CreatedAt).ThenByDescending(b => b.Backup.Id, StringComparer.Ordinal).ToList();
        var byId = withManifest.ToDictionary(b => b.Backup.Id, StringComparer.Ordinal);

        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var point in withManifest.Where(b => b.IsComplete).Take(keep))
        {
            // A complete backup's whole chain is here and complete; the walk stops at a backup a newer point kept.
            var at = point;
            while (at is not null && kept.Add(at.Backup.Id))
            {
                at = at.Backup.Manifest!.ParentId is { } parent ? byId.GetValueOrDefault(parent) : null;
            }
        }

        var skipped = backups.Where(b => b.Backup.Manifest is null)
            .Select(b => new SkippedBackup(b.Backup.Id, $"no readable manifest: {b.Problem}")).ToList();
        var newest = withManifest.FirstOrDefault();
        if (newest is not null && !kept.Contains(newest.Backup.Id))
        {
            skipped.Add(new SkippedBackup(newest.Backup.Id,
                $"{newest.Status} ({newest.Problem}), but the newest backup: the image may still hold its snapshot {newest.Backup.Manifest!.Snapshot}, " +
                "which the next `backup create` names in its warning; it is pruned after that"));
        }

        return new RetentionPlan(
            [.. withManifest.Where(b => kept.Contains(b.Backup.Id)).Select(b => b.Backup.Id)],
            [.. withManifest.Where(b => !kept.Contains(b.Backup.Id) && b.Backup.Id != newest?.Backup.Id).Select(b => b.Backup.Id)],
            [.. skipped.OrderBy(s => s.Id, StringComparer.Ordinal)]);
    }
}
