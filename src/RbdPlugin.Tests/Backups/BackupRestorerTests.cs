using RbdPlugin.Backups;
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

    private static readonly VolumeSpec Encrypted = BackupFiles.Spec with { Encrypted = true };

    public void Dispose() => _rbd.Dispose();

    private async Task AssertNothingRestoredAsync(string name)
    {
        Assert.DoesNotContain(_rbd.Ceph.Images.Keys, i => i.Name.Contains(name, StringComparison.Ordinal)); // nor a staging image
        Assert.Empty(_rbd.Runner.CallsTo("rbd", "import-diff"));
        Assert.Null(await _rbd.Catalog.GetAsync(name, _ct));
    }

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
    public async Task EncryptedVolume_BackupCarriesItsWrappedKey_RestoreWrapsTheSamePassphraseForTheNewImageOnly()
    {
        var source = await _rbd.CreateVolumeAsync("db1", Encrypted);
        var original = _rbd.WrappedKeyOf(source.Image);

        var created = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);
        var restored = await _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct);

        // Still wrapped in the manifest (as the image held it): the backup directory never holds the passphrase.
        var manifest = BackupManifest.Parse(File.ReadAllBytes(BackupFiles.ManifestPath(_rbd.Root, "db1", created.Manifest.Id)));
        Assert.Equal(original, manifest.WrappedKey);
        Assert.True(restored.Volume.Spec.Encrypted);
        var rewrapped = _rbd.WrappedKeyOf(restored.Volume.Image);
        Assert.NotEqual(original, rewrapped);
        using var kek = KeyEncryptionKey.Load(_rbd.KeyFile);
        Assert.Equal(original.Unwrap(source.Image, kek, "db1"), rewrapped.Unwrap(restored.Volume.Image, kek, "db2"));
        // Bound to the restored image: it does not open as db1's.
        Assert.Throws<VolumeException>(() => rewrapped.Unwrap(source.Image, kek, "db1"));
    }

    [Fact]
    public async Task EncryptedBackup_UnderAnotherKeyEncryptionKey_RefusedWithTheFix_NothingCreated()
    {
        await _rbd.CreateVolumeAsync("db1", Encrypted);
        await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);
        File.Delete(_rbd.KeyFile);
        KeyEncryptionKey.WriteNew(_rbd.KeyFile); // as after `key rotate`: the backup keeps the old one

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Contains("is not the key the volume was wrapped with", e.Message, StringComparison.Ordinal);
        Assert.Contains("--encryption-key-file set to the old key", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was created", e.Message, StringComparison.Ordinal);
        await AssertNothingRestoredAsync("db2");
    }

    [Fact]
    public async Task EncryptedBackup_WithoutAWrappedKey_RefusedNothingCreated()
    {
        // A manifest that records encrypted but carries no key (an older plugin's, or edited): ciphertext nothing opens.
        BackupFiles.Write(_rbd.Root, "db1", 1, null, spec: Encrypted);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains("its manifest holds no wrapped key", e.Message, StringComparison.Ordinal);
        await AssertNothingRestoredAsync("db2");
    }

    [Fact]
    public async Task EncryptedBackup_CarryingAnotherVolumesWrappedKey_RefusedNothingCreated()
    {
        // A hostile or mixed-up directory: a genuine wrapped key, but bound to another image than the manifest names.
        using var kek = KeyEncryptionKey.Load(_rbd.KeyFile);
        var foreign = WrappedPassphrase.New(new ImageRef("rbd", "", "other"), kek);
        BackupFiles.Write(_rbd.Root, "db1", 1, null, spec: Encrypted, wrappedKey: foreign);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Restorer().RestoreAsync(_rbd.Dir, "db2", null, _ct));

        Assert.Contains("does not open with this host's key", e.Message, StringComparison.Ordinal);
        await AssertNothingRestoredAsync("db2");
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
