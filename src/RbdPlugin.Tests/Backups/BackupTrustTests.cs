using RbdPlugin.Backups;
using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Backups;

/// <summary>
/// Invariant 9 for backups: a backup directory is not trusted more than Docker's input. A manifest names only the
/// plugin's own snapshot of its own id, so `backup create` can never remove someone else's snapshot; its volume
/// options pass Create's checks before a restore creates anything; and a restore imports exactly the bytes it
/// verified, however the files change meanwhile.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class BackupTrustTests : IDisposable
{
    private readonly FakeRbd _rbd = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _rbd.Dispose();

    [Fact]
    public async Task Create_NewestManifestNamesAForeignSnapshot_ThatSnapshotKeptAndNotBuiltOn()
    {
        // Arrange: the operator's own snapshot "golden", and a manifest (with a matching diff) that claims it.
        await _rbd.CreateVolumeAsync("db1");
        _rbd.SnapsOf("rbd/db1").Add("golden");
        BackupFiles.Write(_rbd.Root, "db1", 0, null, snapshot: "golden");

        // Act
        var created = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);

        // Assert
        Assert.Contains("golden", _rbd.SnapsOf("rbd/db1"));
        Assert.Null(created.RemovedSnapshot);
        Assert.Equal("full", created.Manifest.Kind);
        Assert.DoesNotContain("--from-snap", _rbd.Runner.CallsTo("rbd", "export-diff").Last());
    }

    [Fact]
    public async Task Create_NewestBackupIsIncomplete_ItsSnapshotKeptWithAWarningSayingHowToRemoveIt()
    {
        // Arrange
        await _rbd.CreateVolumeAsync("db1");
        var first = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);
        BackupFiles.Truncate(BackupFiles.DataPath(_rbd.Root, "db1", first.Manifest.Id), by: 3);
        _rbd.Time.Advance(TimeSpan.FromMinutes(1));

        // Act
        var second = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);

        // Assert
        Assert.Null(second.RemovedSnapshot);
        Assert.Equal([first.Manifest.Snapshot, second.Manifest.Snapshot], _rbd.SnapsOf("rbd/db1").Order(StringComparer.Ordinal));
        Assert.NotNull(second.Warning);
        Assert.Contains($"rbd snap rm rbd/db1@{first.Manifest.Snapshot}", second.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ManifestNamingAnotherSnapshotThanItsOwn_Corrupt()
    {
        BackupFiles.Write(_rbd.Root, "db1", 0, null, snapshot: "golden");

        var verdict = Assert.Single(await BackupVerifier.VerifyAsync(_rbd.Dir.Read("db1"), checksums: true, _ct));

        Assert.Equal(BackupStatus.Corrupt, verdict.Status);
        Assert.Contains("golden", verdict.Problem, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> HostileOptions => new()
    {
        // fstype, mkfs-options, mount-options
        { "ext4", "-d /etc", "" },
        { "xfs", "-l logdev=/dev/sda", "" },
        { "xfs", "", "bind" },
        { "btrfs", "", "" },
    };

    [Theory]
    [MemberData(nameof(HostileOptions))]
    public async Task Restore_ManifestWithOptionsCreateRefuses_DamagedBeforeAnyCephCall(string fsType, string mkfs, string mount)
    {
        BackupFiles.Write(_rbd.Root, "db1", 0, null, spec: BackupFiles.Spec with { FsType = fsType, MkfsOptions = mkfs, MountOptions = mount });

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains("Nothing was created", e.Message, StringComparison.Ordinal);
        Assert.Empty(_rbd.Ceph.Calls);
        Assert.Empty(_rbd.Runner.Calls);
    }

    [Fact]
    public async Task Restore_ImageLargerThanMaxSize_RefusedBeforeAnyCephCall()
    {
        var rbd = new FakeRbd(BackupFiles.Spec.SizeBytes / 2);
        try
        {
            BackupFiles.Write(rbd.Root, "db1", 0, null);

            var e = await Assert.ThrowsAsync<VolumeException>(() => rbd.Restorer().RestoreAsync(rbd.Dir, "db2", null, _ct));

            Assert.Contains("MaxSize", e.Message, StringComparison.Ordinal);
            Assert.Empty(rbd.Ceph.Calls);
        }
        finally
        {
            rbd.Dispose();
        }
    }

    [Fact]
    public async Task Restore_DataFileSwappedAfterItWasVerified_DamagedAndNoVolumeLeft()
    {
        // Arrange: the second file of the chain changes (same length, other bytes) between verification and import.
        var ids = BackupFiles.Chain(_rbd.Root, "db1", 2);
        _rbd.Ceph.FailOn = call =>
        {
            if (call == "CreateImage")
            {
                BackupFiles.FlipLastPayloadByte(BackupFiles.DataPath(_rbd.Root, "db1", ids[1]));
            }

            return null;
        };

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        // Assert
        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains($"{ids[1]}.rbddiff changed after it was verified", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(new ImageRef("rbd", "", "db2"), _rbd.Ceph.Images.Keys);
        Assert.Null(await _rbd.Catalog.GetAsync("db2", _ct));
        // rbd got the first file whole, and never the end of the changed one.
        var swapped = File.ReadAllBytes(BackupFiles.DataPath(_rbd.Root, "db1", ids[1]));
        Assert.Equal(2, _rbd.Runner.Inputs.Count);
        Assert.True(_rbd.Runner.Inputs[1].Input.Length < swapped.Length);
    }
}
