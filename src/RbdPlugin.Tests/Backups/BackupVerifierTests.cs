using System.Text;
using RbdPlugin.Backups;

namespace RbdPlugin.Tests.Backups;

/// <summary>How a backup directory is judged without Ceph: lengths, diff headers, checksums and parent links.</summary>
[Trait("Tier", "Fast")]
public sealed class BackupVerifierTests : IDisposable
{
    private const string Volume = "db1";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-backup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<Dictionary<string, VerifiedBackup>> VerifyAsync(bool checksums = false)
    {
        var stored = BackupDirectory.Open(_root).Read(Volume);
        return (await BackupVerifier.VerifyAsync(stored, checksums, CancellationToken.None)).ToDictionary(v => v.Backup.Id);
    }

    [Fact]
    public async Task Verify_FullAndTwoIncrements_AllComplete()
    {
        var ids = BackupFiles.Chain(_root, Volume, 3);

        var verdicts = await VerifyAsync(checksums: true);

        Assert.All(ids, id => Assert.Equal((BackupStatus.Complete, null), (verdicts[id].Status, verdicts[id].Problem)));
        Assert.Equal(ids, BackupVerifier.ChainTo(BackupDirectory.Open(_root).Read(Volume), ids[2]).Select(b => b.Id));
    }

    [Fact]
    public async Task Verify_TruncatedMiddle_IncompleteAndSoIsEverythingAfterIt()
    {
        var ids = BackupFiles.Chain(_root, Volume, 3);
        BackupFiles.Truncate(BackupFiles.DataPath(_root, Volume, ids[1]), by: 1);

        var verdicts = await VerifyAsync();

        Assert.True(verdicts[ids[0]].IsComplete);
        Assert.Equal(BackupStatus.Incomplete, verdicts[ids[1]].Status);
        Assert.Contains("truncated", verdicts[ids[1]].Problem, StringComparison.Ordinal);
        Assert.Equal(BackupStatus.Incomplete, verdicts[ids[2]].Status);
        Assert.Contains($"its parent {ids[1]} is incomplete", verdicts[ids[2]].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_DataLongerThanManifestSays_Corrupt()
    {
        var ids = BackupFiles.Chain(_root, Volume, 1);
        File.AppendAllText(BackupFiles.DataPath(_root, Volume, ids[0]), "x");

        var verdict = (await VerifyAsync())[ids[0]];

        Assert.Equal(BackupStatus.Corrupt, verdict.Status);
        Assert.Contains("its manifest says", verdict.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_FlippedByte_OnlyChecksumsFindIt_AndTheChildIsNotRestorable()
    {
        var ids = BackupFiles.Chain(_root, Volume, 2);
        BackupFiles.FlipLastPayloadByte(BackupFiles.DataPath(_root, Volume, ids[0]));

        var lengthsOnly = await VerifyAsync(checksums: false);
        var full = await VerifyAsync(checksums: true);

        Assert.True(lengthsOnly[ids[0]].IsComplete);
        Assert.Equal(BackupStatus.Corrupt, full[ids[0]].Status);
        Assert.Contains("SHA-256", full[ids[0]].Problem, StringComparison.Ordinal);
        Assert.Equal(BackupStatus.Incomplete, full[ids[1]].Status);
        Assert.Contains($"its parent {ids[0]} is corrupt", full[ids[1]].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ParentManifestMissing_ChildIncomplete()
    {
        var ids = BackupFiles.Chain(_root, Volume, 2);
        File.Delete(BackupFiles.ManifestPath(_root, Volume, ids[0]));

        var verdicts = await VerifyAsync();

        Assert.Equal(BackupStatus.Incomplete, verdicts[ids[1]].Status);
        Assert.Contains($"its parent {ids[0]} is", verdicts[ids[1]].Problem, StringComparison.Ordinal);
        Assert.Equal(BackupStatus.Incomplete, verdicts[ids[0]].Status); // its data file is still there, without a manifest
        Assert.Contains("is missing", verdicts[ids[0]].Problem, StringComparison.Ordinal);
        Assert.False(verdicts[ids[0]].Backup.Interrupted); // so the next backup keeps it
    }

    [Fact]
    public async Task Verify_ParentGoneEntirely_ChildIncompleteNamingIt()
    {
        var ids = BackupFiles.Chain(_root, Volume, 2);
        File.Delete(BackupFiles.ManifestPath(_root, Volume, ids[0]));
        File.Delete(BackupFiles.DataPath(_root, Volume, ids[0]));

        var verdict = (await VerifyAsync())[ids[1]];

        Assert.Equal(BackupStatus.Incomplete, verdict.Status);
        Assert.Contains($"its parent {ids[0]} is missing", verdict.Problem, StringComparison.Ordinal);
        Assert.Equal([ids[1]], BackupVerifier.ChainTo(BackupDirectory.Open(_root).Read(Volume), ids[1]).Select(b => b.Id));
    }

    [Fact]
    public async Task Verify_DataFileOfAnotherBackup_CorruptBecauseItsSnapshotsDoNotMatch()
    {
        var ids = BackupFiles.Chain(_root, Volume, 3);
        // Same length, other backup: the increment 2→3 put in place of 1→2.
        var other = File.ReadAllBytes(BackupFiles.DataPath(_root, Volume, ids[2]));
        BackupFiles.Write(_root, Volume, 1, ids[0], other);

        var verdict = (await VerifyAsync(checksums: true))[ids[1]];

        Assert.Equal(BackupStatus.Corrupt, verdict.Status);
        Assert.Contains("belongs to another backup", verdict.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_FullBackupWhoseDataIsAnIncrement_Corrupt()
    {
        var data = BackupFiles.Diff("rbd-plugin-backup-somewhere", BackupId.Snapshot(BackupFiles.Id(0)), BackupFiles.Spec.SizeBytes, [1, 2, 3]);
        var id = BackupFiles.Write(_root, Volume, 0, null, data);

        var verdict = (await VerifyAsync())[id];

        Assert.Equal(BackupStatus.Corrupt, verdict.Status);
        Assert.Contains("(none: a full backup)", verdict.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ not json", "not JSON")]
    [InlineData("{\"schema\": 2}", "schema 2 is not 1")]
    [InlineData("{\"id\": \"x\"}", "no \"schema\" field")]
    [InlineData("{\"schema\": 1, \"id\": \"20261127T100000Z-000000\"}", "missing or malformed field")]
    public async Task Verify_UnreadableManifest_CorruptSayingWhy(string json, string expected)
    {
        var ids = BackupFiles.Chain(_root, Volume, 1);
        File.WriteAllText(BackupFiles.ManifestPath(_root, Volume, ids[0]), json);

        var verdict = (await VerifyAsync())[ids[0]];

        Assert.Equal(BackupStatus.Corrupt, verdict.Status);
        Assert.Contains(expected, verdict.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ManifestNamingAFileOutsideItsDirectory_Corrupt()
    {
        var ids = BackupFiles.Chain(_root, Volume, 1);
        var path = BackupFiles.ManifestPath(_root, Volume, ids[0]);
        File.WriteAllText(path, File.ReadAllText(path).Replace($"\"{ids[0]}.rbddiff\"", "\"../../etc/shadow\"", StringComparison.Ordinal));

        var verdict = (await VerifyAsync())[ids[0]];

        Assert.Equal(BackupStatus.Corrupt, verdict.Status);
        Assert.Contains("not a plain file name", verdict.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_OnlyTempFiles_AnInterruptedBackup_ListedIncomplete()
    {
        var ids = BackupFiles.Chain(_root, Volume, 1);
        var interrupted = BackupFiles.Id(1);
        File.WriteAllBytes(BackupFiles.DataPath(_root, Volume, interrupted) + BackupDirectory.TempSuffix, Encoding.ASCII.GetBytes("rbd diff v1\n"));

        var verdicts = await VerifyAsync();

        Assert.True(verdicts[ids[0]].IsComplete);
        Assert.Equal(BackupStatus.Incomplete, verdicts[interrupted].Status);
        Assert.Contains("interrupted", verdicts[interrupted].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ParentNotOlderThanChild_Corrupt()
    {
        var child = BackupFiles.Write(_root, Volume, 1, BackupFiles.Id(5));
        BackupFiles.Write(_root, Volume, 5, null);

        var verdict = (await VerifyAsync())[child];

        Assert.Equal(BackupStatus.Corrupt, verdict.Status);
        Assert.Contains("not older", verdict.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_MissingDirectory_RefusedSayingHowToFix()
    {
        var e = Assert.Throws<RbdPlugin.Volumes.VolumeException>(() => BackupDirectory.Open(Path.Combine(_root, "nope")));

        Assert.Equal(RbdPlugin.Volumes.VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("mkdir -p", e.Message, StringComparison.Ordinal);
    }
}
