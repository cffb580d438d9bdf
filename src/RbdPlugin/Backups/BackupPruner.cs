using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>What <see cref="BackupPruner"/> decided (and, unless a dry run, did) in the volume's backup directory.</summary>
internal sealed record BackupPruned(string Directory, RetentionPlan Plan);

/// <summary>
/// <c>backup prune</c>: reads the volume's backup directory only (no Ceph), verifies lengths and headers as
/// <c>backup create</c> does (and checksums with <c>--verify</c>), and deletes what <see cref="BackupRetention"/> does not keep, newest first. The
/// volume's backup lock is held from reading to the last deletion, so a concurrent <c>backup create</c> either
/// finishes before or starts after and never builds on a backup being deleted.
/// </summary>
internal static class BackupPruner
{
    /// <param name="checksums">Also check every data file's SHA-256 (reads all the data): then a backup whose bytes
    /// changed since it was written is not counted as a restore point, so an older good chain is kept instead.</param>
    public static async Task<BackupPruned> PruneAsync(BackupDirectory directory, string volume, int keep, bool dryRun, bool checksums, CancellationToken ct)
    {
        VolumeName.Validate(volume);
        var dir = directory.VolumeDirectory(volume);
        if (!Directory.Exists(dir))
        {
            throw NoBackups(directory, volume);
        }

        using var dirLock = directory.Lock(volume);
        var stored = directory.Read(volume);
        if (!stored.Any(b => b.Manifest is not null))
        {
            throw NoBackups(directory, volume);
        }

        var plan = BackupRetention.Plan(await BackupVerifier.VerifyAsync(stored, checksums, ct), keep);
        if (!dryRun)
        {
            Delete(directory, volume, plan.Deleted);
        }

        return new BackupPruned(dir, plan);
    }

    private static void Delete(BackupDirectory directory, string volume, IReadOnlyList<string> ids)
    {
        var done = 0;
        try
        {
            foreach (var id in ids)
            {
                directory.Delete(volume, id);
                done++;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VolumeException(VolumeErrorKind.Unavailable,
                $"could not delete backup {ids[done]} of {volume} ({e.Message}); deleted before it: {(done == 0 ? "none" : string.Join(", ", ids.Take(done)))}. " +
                "Every kept backup is intact; fix the cause and run prune again", e);
        }
    }

    private static VolumeException NoBackups(BackupDirectory directory, string volume) =>
        new(VolumeErrorKind.NotFound,
            $"no backups of {volume} in {directory.Root}; `rbd-plugin backup ls {directory.Root}` lists the volumes and backups there");
}
