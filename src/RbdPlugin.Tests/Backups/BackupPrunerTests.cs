using RbdPlugin.Backups;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Backups;

/// <summary>backup prune on a real directory: what goes, what stays restorable, and when it refuses.</summary>
[Trait("Tier", "Fast")]
public sealed class BackupPrunerTests : IDisposable
{
    private const string Volume = "db1";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-backup-").FullName;
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private BackupDirectory Dir => BackupDirectory.Open(_root);

    private string[] Files() => BackupFiles.Names(_root, Volume);

    /// <summary>Chain A: 0 (full), 1; chain B: 2 (full), 3.</summary>
    private (List<string> A, List<string> B) TwoChains()
    {
        var a = BackupFiles.Chain(_root, Volume, 2);
        var b2 = BackupFiles.Write(_root, Volume, 2, null);
        return (a, [b2, BackupFiles.Write(_root, Volume, 3, b2)]);
    }

    [Fact]
    public async Task Prune_Keep1_DeletesTheOlderChainsFiles_TheNewerChainStaysComplete()
    {
        var (a, b) = TwoChains();

        var pruned = await BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: false, checksums: false, _ct);

        Assert.Equal([b[1], b[0]], pruned.Plan.Kept);
        Assert.Equal([a[1], a[0]], pruned.Plan.Deleted);
        Assert.DoesNotContain(Files(), f => a.Any(id => f.StartsWith(id, StringComparison.Ordinal)));
        var left = await BackupVerifier.VerifyAsync(Dir.Read(Volume), checksums: true, _ct);
        Assert.Equal(b.Order(StringComparer.Ordinal), left.Select(v => v.Backup.Id).Order(StringComparer.Ordinal));
        Assert.All(left, v => Assert.True(v.IsComplete, v.Problem));
    }

    [Fact]
    public async Task Prune_Verify_ANewerChainWithChangedBytes_IsNoRestorePoint_TheOlderGoodChainIsKept()
    {
        var (a, b) = TwoChains();
        var data = BackupFiles.DataPath(_root, Volume, b[0]);
        var bytes = File.ReadAllBytes(data);
        bytes[^1] ^= 0xff; // same length: only the checksum tells
        File.WriteAllBytes(data, bytes);

        var unverified = await BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: true, checksums: false, _ct);
        var verified = await BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: false, checksums: true, _ct);

        Assert.Equal([a[1], a[0]], unverified.Plan.Deleted); // without checksums the damaged chain looks best
        Assert.Equal([a[1], a[0]], verified.Plan.Kept);
        Assert.Equal([b[0]], verified.Plan.Deleted);
        Assert.Equal([b[1]], verified.Plan.Skipped.Select(s => s.Id)); // the newest: its snapshot is still on the image
        Assert.All(await BackupVerifier.VerifyAsync(Dir.Read(Volume).Where(x => a.Contains(x.Id)).ToList(), checksums: true, _ct),
            v => Assert.True(v.IsComplete, v.Problem));
    }

    [Fact]
    public async Task Prune_DryRun_SamePlan_NothingDeleted()
    {
        var (a, _) = TwoChains();
        var before = Files();

        var pruned = await BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: true, checksums: false, _ct);

        Assert.Equal([a[1], a[0]], pruned.Plan.Deleted);
        Assert.Equal(before, Files());
    }

    [Fact]
    public async Task Prune_DataWithoutManifestAndInterruptedTempFiles_Untouched()
    {
        var (a, _) = TwoChains();
        File.Delete(BackupFiles.ManifestPath(_root, Volume, a[0])); // a[1] now has a missing parent: deleted
        var crashed = BackupFiles.Id(9);
        File.WriteAllText(BackupFiles.DataPath(_root, Volume, crashed) + BackupDirectory.TempSuffix, "rbd diff v1\n");

        var pruned = await BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: false, checksums: false, _ct);

        Assert.Equal([a[1]], pruned.Plan.Deleted);
        Assert.Equal([a[0], crashed], pruned.Plan.Skipped.Select(s => s.Id));
        Assert.Contains(a[0] + BackupDirectory.DataSuffix, Files());
        Assert.Contains(crashed + BackupDirectory.DataSuffix + BackupDirectory.TempSuffix, Files());
    }

    [Fact]
    public async Task Prune_WhileABackupOfTheVolumeHoldsTheLock_InUse_NothingDeleted()
    {
        TwoChains();
        var before = Files();
        using var running = Dir.Lock(Volume);

        var e = await Assert.ThrowsAsync<VolumeException>(() => BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: false, checksums: false, _ct));

        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Equal(before, Files());
    }

    [Fact]
    public async Task Prune_NoDirectoryForTheVolume_NotFound_NothingCreated()
    {
        var e = await Assert.ThrowsAsync<VolumeException>(() => BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: false, checksums: false, _ct));

        Assert.Equal(VolumeErrorKind.NotFound, e.Kind);
        Assert.Contains("backup ls", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public async Task Prune_OnlyAnInterruptedBackup_NotFound()
    {
        Directory.CreateDirectory(Path.Combine(_root, Volume));
        File.WriteAllText(BackupFiles.DataPath(_root, Volume, BackupFiles.Id(1)) + BackupDirectory.TempSuffix, "rbd diff v1\n");

        var e = await Assert.ThrowsAsync<VolumeException>(() => BackupPruner.PruneAsync(Dir, Volume, keep: 1, dryRun: false, checksums: false, _ct));

        Assert.Equal(VolumeErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task Prune_BadVolumeName_InvalidArgument() =>
        Assert.Equal(VolumeErrorKind.InvalidArgument,
            (await Assert.ThrowsAsync<VolumeException>(() => BackupPruner.PruneAsync(Dir, "../etc", keep: 1, dryRun: false, checksums: false, _ct))).Kind);
}
