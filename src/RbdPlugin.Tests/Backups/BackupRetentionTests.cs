using RbdPlugin.Backups;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Backups;

/// <summary>Which backups `backup prune --keep N` keeps: restore points, the chains they need, and what it never touches.</summary>
[Trait("Tier", "Fast")]
public sealed class BackupRetentionTests
{
    private const string Dir = "/backups/db1";

    /// <summary>Backup <paramref name="index"/> (its id and time made from it) with a manifest and a verdict.</summary>
    private static VerifiedBackup Backup(int index, int? parent, string status = BackupStatus.Complete)
    {
        var id = BackupFiles.Id(index);
        var manifest = new BackupManifest(BackupManifest.CurrentSchema, id, "db1", BackupFiles.T0.AddMinutes(index),
            parent is { } p ? BackupFiles.Id(p) : null, BackupId.Snapshot(id), "rbd/db1", BackupFiles.Spec.SizeBytes, BackupFiles.Spec,
            [new BackupFile(id + BackupDirectory.DataSuffix, 1, "00")]);
        return new VerifiedBackup(new StoredBackup("db1", id, Dir, manifest, null), status, status == BackupStatus.Complete ? null : "damaged on purpose");
    }

    private static VerifiedBackup WithoutManifest(int index, string problem) =>
        new(new StoredBackup("db1", BackupFiles.Id(index), Dir, null, problem), BackupStatus.Incomplete, problem);

    private static string[] Ids(params int[] indexes) => [.. indexes.Select(BackupFiles.Id)];

    [Fact]
    public void Plan_TwoChainsKeep1_TheOlderChainDeleted_TheNewerKeptWithItsFull()
    {
        // Chain A: 0 (full), 1; chain B: 2 (full, `create --full`), 3.
        var plan = BackupRetention.Plan([Backup(0, null), Backup(1, 0), Backup(2, null), Backup(3, 2)], keep: 1);

        Assert.Equal(Ids(3, 2), plan.Kept);
        Assert.Equal(Ids(1, 0), plan.Deleted); // newest first: a child goes before the backup it builds on
        Assert.Empty(plan.Skipped);
    }

    [Fact]
    public void Plan_Keep3_ThirdNewestInTheOldChain_AllItsAncestorsKeptToo()
    {
        // Chain A: 0..3; chain B: 4, 5. The three newest restore points are 5, 4 and 3; 3 needs 2, 1 and 0.
        var plan = BackupRetention.Plan([Backup(0, null), Backup(1, 0), Backup(2, 1), Backup(3, 2), Backup(4, null), Backup(5, 4)], keep: 3);

        Assert.Equal(Ids(5, 4, 3, 2, 1, 0), plan.Kept);
        Assert.Empty(plan.Deleted);
    }

    [Fact]
    public void Plan_OneChain_IsNeverSplit_KeepingItsNewestKeepsAllOfIt()
    {
        var plan = BackupRetention.Plan([Backup(0, null), Backup(1, 0), Backup(2, 1), Backup(3, 2)], keep: 2);

        Assert.Equal(Ids(3, 2, 1, 0), plan.Kept);
        Assert.Empty(plan.Deleted);
    }

    [Fact]
    public void Plan_CorruptAndIncompleteBackups_AreNotRestorePoints_AndAreDeleted()
    {
        // Chain A: 0, 1, 2 (corrupt), 3 (incomplete: builds on 2); chain B: 4, 5. Keep 3 → 5, 4 and 1 (with 0).
        var plan = BackupRetention.Plan(
            [Backup(0, null), Backup(1, 0), Backup(2, 1, BackupStatus.Corrupt), Backup(3, 2, BackupStatus.Incomplete), Backup(4, null), Backup(5, 4)], keep: 3);

        Assert.Equal(Ids(5, 4, 1, 0), plan.Kept);
        Assert.Equal(Ids(3, 2), plan.Deleted);
    }

    [Fact]
    public void Plan_EntriesWithoutAReadableManifest_SkippedWithTheirProblem_NeverDeletedOrCounted()
    {
        var plan = BackupRetention.Plan(
        [
            WithoutManifest(0, "its manifest is missing"), Backup(1, null), Backup(2, 1),
            WithoutManifest(3, "interrupted: only temp files"), WithoutManifest(4, "manifest is unreadable"),
        ], keep: 1);

        Assert.Equal(Ids(2, 1), plan.Kept);
        Assert.Empty(plan.Deleted);
        Assert.Equal(Ids(0, 3, 4), plan.Skipped.Select(s => s.Id));
        Assert.Contains("interrupted: only temp files", plan.Skipped[1].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_NewestBackupDamaged_SkippedNotDeleted_BecauseTheImageStillHoldsItsSnapshot()
    {
        var plan = BackupRetention.Plan([Backup(0, null), Backup(1, 0), Backup(2, 1, BackupStatus.Corrupt)], keep: 1);

        Assert.Equal(Ids(1, 0), plan.Kept);
        Assert.Empty(plan.Deleted);
        var skipped = Assert.Single(plan.Skipped);
        Assert.Equal(BackupFiles.Id(2), skipped.Id);
        Assert.Contains(BackupId.Snapshot(BackupFiles.Id(2)), skipped.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_NoCompleteBackup_RefusedAsDamaged_NothingToDelete()
    {
        var e = Assert.Throws<VolumeException>(() =>
            BackupRetention.Plan([Backup(0, null, BackupStatus.Corrupt), Backup(1, 0, BackupStatus.Incomplete)], keep: 1));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains("backup ls /backups --verify", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(-1)]
    public void RequireKeep_MissingOrBelow1_InvalidArgument_SayingHowToDeleteEverythingByHand(int? keep)
    {
        var e = Assert.Throws<VolumeException>(() => BackupRetention.RequireKeep(keep, "db1", Dir));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains($"rm -r {Dir}", e.Message, StringComparison.Ordinal);
        Assert.Contains("rbd snap rm POOL/db1@rbd-plugin-backup-ID", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RequireKeep_1OrMore_IsThatNumber() => Assert.Equal(3, BackupRetention.RequireKeep(3, "db1", Dir));
}
