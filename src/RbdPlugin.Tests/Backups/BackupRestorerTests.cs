using RbdPlugin.Ceph;
using RbdPlugin.Volumes;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Backups;

/// <summary>backup restore over fakes: verification before any Ceph call, and no half-restored volume after a failed import.</summary>
[Trait("Tier", "Fast")]
public sealed class BackupRestorerTests : IDisposable
{
    private readonly FakeRbd _rbd = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _rbd.Dispose();

    [Fact]
    public async Task Restore_Chain_ImportsFullThenIncrementsInOrder_ListsTheVolume_LeavesNoSnapshots()
    {
        var ids = BackupFiles.Chain(_rbd.Root, "db1", 3);

        var restored = await _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct);

        Assert.Equal(ids, restored.Chain.Select(b => b.Id));
        // Each diff goes in on stdin ("-"), byte for byte the file that was verified.
        Assert.All(_rbd.Runner.CallsTo("rbd", "import-diff"), a => Assert.Equal(["-", "rbd/db2"], a.TakeLast(2)));
        Assert.Equal(ids.Select(id => File.ReadAllBytes(BackupFiles.DataPath(_rbd.Root, "db1", id))), _rbd.Runner.Inputs.Select(i => i.Input));
        Assert.Equal(BackupFiles.Spec, restored.Volume.Spec);
        Assert.NotNull(await _rbd.Catalog.GetAsync("db2", _ct));
        Assert.Equal(3, _rbd.SnapshotRemovals);
    }

    [Fact]
    public async Task Restore_EncryptedVolumesBackup_RefusedBeforeAnythingIsCreated()
    {
        // Its manifest records encrypted: the backup is ciphertext that only the volume's own passphrase opens.
        BackupFiles.Write(_rbd.Root, "db1", 1, null, spec: BackupFiles.Spec with { Encrypted = true });

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Contains("restoring encrypted volumes is not supported yet", e.Message, StringComparison.Ordinal);
        Assert.Empty(_rbd.Ceph.Images);
        Assert.Empty(_rbd.Runner.CallsTo("rbd", "import-diff"));
    }

    [Fact]
    public async Task Restore_SecondImportFails_HalfRestoredImageDeletedAndUnlisted()
    {
        BackupFiles.Chain(_rbd.Root, "db1", 3);
        _rbd.Runner.OnSequence("rbd", ["import-diff"], FakeCommandRunner.Ok(), FakeCommandRunner.Fail(5, "rbd: import-diff failed: (5) Input/output error"));

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Contains("Input/output error", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, _rbd.Runner.CallsTo("rbd", "import-diff").Count());
        Assert.DoesNotContain(new ImageRef("rbd", "", "db2"), _rbd.Ceph.Images.Keys);
        Assert.Null(await _rbd.Catalog.GetAsync("db2", _ct));
    }

    [Fact]
    public async Task Restore_CorruptChain_RefusedBeforeAnyCephCall()
    {
        var ids = BackupFiles.Chain(_rbd.Root, "db1", 2);
        BackupFiles.FlipLastPayloadByte(BackupFiles.DataPath(_rbd.Root, "db1", ids[0]));

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains($"backup {ids[0]} is corrupt", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was created", e.Message, StringComparison.Ordinal);
        Assert.Empty(_rbd.Ceph.Calls);
        Assert.Empty(_rbd.Runner.Calls);
    }

    [Fact]
    public async Task Restore_AtAnOlderBackup_IgnoresDamageAfterIt()
    {
        var ids = BackupFiles.Chain(_rbd.Root, "db1", 3);
        BackupFiles.Truncate(BackupFiles.DataPath(_rbd.Root, "db1", ids[2]), by: 3);

        var restored = await _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", ids[1], _ct);

        Assert.Equal(ids[..2], restored.Chain.Select(b => b.Id));
    }

    [Fact]
    public async Task Restore_IntoAnExistingVolume_ConflictAndNothingImported()
    {
        BackupFiles.Chain(_rbd.Root, "db1", 1);
        await _rbd.CreateVolumeAsync("db2");

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Empty(_rbd.Runner.CallsTo("rbd", "import-diff"));
        Assert.Contains(new ImageRef("rbd", "", "db2"), _rbd.Ceph.Images.Keys); // untouched
    }

    [Theory]
    [InlineData("20261127T109900Z-000000", "NotFound")]
    [InlineData("../../etc", "InvalidArgument")]
    public async Task Restore_AtAnUnknownOrMalformedId_Refused(string at, string kind)
    {
        BackupFiles.Chain(_rbd.Root, "db1", 1);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", at, _ct));

        Assert.Equal(kind, e.Kind.ToString());
        Assert.Empty(_rbd.Ceph.Calls);
    }

    [Fact]
    public async Task Restore_SeveralVolumesWithoutAt_AsksForAnId()
    {
        BackupFiles.Chain(_rbd.Root, "db1", 1);
        BackupFiles.Chain(_rbd.Root, "web", 1);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("db1, web", e.Message, StringComparison.Ordinal);
    }
}
