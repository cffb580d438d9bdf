using RbdPlugin.Backups;
using RbdPlugin.Volumes;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Backups;

/// <summary>backup create over fakes: which snapshot a backup builds on, which it removes, and what a failure leaves.</summary>
[Trait("Tier", "Fast")]
public sealed class BackupCreatorTests : IDisposable
{
    private readonly FakeRbd _rbd = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _rbd.Dispose();

    private string[] FilesOf(string volume) => [.. Directory.EnumerateFiles(Path.Combine(_rbd.Root, volume)).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Fact]
    public async Task Create_Twice_FullThenIncrementalOnIt_OnlyTheLastSnapshotKept()
    {
        await _rbd.CreateVolumeAsync("db1");

        var first = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);
        _rbd.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);

        Assert.Equal(("full", null), (first.Manifest.Kind, first.Manifest.ParentId));
        Assert.Equal(("incremental", first.Manifest.Id), (second.Manifest.Kind, second.Manifest.ParentId));
        Assert.Equal(first.Manifest.Snapshot, second.RemovedSnapshot);
        Assert.Equal([second.Manifest.Snapshot], _rbd.SnapsOf("rbd/db1"));
        Assert.Equal(["--from-snap", first.Manifest.Snapshot], _rbd.Runner.CallsTo("rbd", "export-diff").Last().Skip(2).Take(2));
        Assert.Equal(BackupFiles.Spec, second.Manifest.VolumeOptions);
        Assert.All((await BackupVerifier.VerifyAsync(_rbd.Dir.Read("db1"), checksums: true, _ct)), v => Assert.True(v.IsComplete, v.Problem));
    }

    [Fact]
    public async Task Create_Full_StartsANewChainThoughAnIncrementalIsPossible_ThePreviousSnapshotRemoved()
    {
        await _rbd.CreateVolumeAsync("db1");
        var first = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);
        _rbd.Time.Advance(TimeSpan.FromMinutes(1));

        var second = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: true, _ct);

        Assert.Equal(("full", null), (second.Manifest.Kind, second.Manifest.ParentId));
        Assert.DoesNotContain("--from-snap", _rbd.Runner.CallsTo("rbd", "export-diff").Last());
        Assert.Equal(first.Manifest.Snapshot, second.RemovedSnapshot);
        Assert.Equal([second.Manifest.Snapshot], _rbd.SnapsOf("rbd/db1"));
        Assert.All(await BackupVerifier.VerifyAsync(_rbd.Dir.Read("db1"), checksums: true, _ct), v => Assert.True(v.IsComplete, v.Problem));
    }

    [Fact]
    public async Task Create_LastBackupsSnapshotGone_StartsANewFullChain()
    {
        await _rbd.CreateVolumeAsync("db1");
        var first = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);
        _rbd.SnapsOf("rbd/db1").Clear(); // e.g. removed by hand with rbd snap purge
        _rbd.Time.Advance(TimeSpan.FromMinutes(1));

        var second = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);

        Assert.Equal("full", second.Manifest.Kind);
        Assert.NotEqual(first.Manifest.Id, second.Manifest.Id);
    }

    [Fact]
    public async Task Create_ExportFails_NoFilesAndNoSnapshotLeft()
    {
        await _rbd.CreateVolumeAsync("db1");
        _rbd.Runner.On("rbd", ["export-diff"], args =>
        {
            File.WriteAllText(args[^1], "rbd diff v1\npartial"); // what a dying export leaves
            return FakeCommandRunner.Fail(5, "rbd: export-diff error: (5) Input/output error");
        });

        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct));

        Assert.Equal(VolumeErrorKind.HostCommandFailed, e.Kind);
        Assert.Contains("Input/output error", e.Message, StringComparison.Ordinal);
        Assert.Equal([".lock"], FilesOf("db1"));
        Assert.Empty(_rbd.SnapsOf("rbd/db1"));
    }

    [Fact]
    public async Task Create_AfterAnInterruptedRun_RemovesItsFilesAndSnapshot()
    {
        await _rbd.CreateVolumeAsync("db1");
        var crashed = BackupFiles.Id(7);
        Directory.CreateDirectory(Path.Combine(_rbd.Root, "db1"));
        File.WriteAllText(BackupFiles.DataPath(_rbd.Root, "db1", crashed) + BackupDirectory.TempSuffix, "rbd diff v1\n");
        _rbd.SnapsOf("rbd/db1").Add(BackupId.Snapshot(crashed));

        var created = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);

        Assert.Equal("full", created.Manifest.Kind);
        Assert.DoesNotContain(FilesOf("db1"), f => f.StartsWith(crashed, StringComparison.Ordinal));
        Assert.Equal([created.Manifest.Snapshot], _rbd.SnapsOf("rbd/db1"));
    }

    [Fact]
    public async Task Create_DataFileWhoseManifestWasDeleted_KeptForTheOperator_ItsSnapshotRemoved()
    {
        await _rbd.CreateVolumeAsync("db1");
        var first = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);
        File.Delete(BackupFiles.ManifestPath(_rbd.Root, "db1", first.Manifest.Id));
        _rbd.Time.Advance(TimeSpan.FromMinutes(1));

        var second = await _rbd.Creator().CreateAsync("db1", _rbd.Dir, full: false, _ct);

        Assert.Equal("full", second.Manifest.Kind);
        Assert.Contains(first.Manifest.Id + ".rbddiff", FilesOf("db1"));
        // Nothing builds on the manifest-less backup any more: its snapshot would otherwise stay on the image for good.
        Assert.Equal([second.Manifest.Snapshot], _rbd.SnapsOf("rbd/db1"));
        Assert.Null(second.Warning);
    }

    [Fact]
    public async Task Create_NotAPluginVolume_NotFoundAndNothingWritten()
    {
        var e = await Assert.ThrowsAsync<VolumeException>(() => _rbd.Creator().CreateAsync("foreign", _rbd.Dir, full: false, _ct));

        Assert.Equal(VolumeErrorKind.NotFound, e.Kind);
        Assert.Contains("volume ls", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_rbd.Root));
        Assert.Empty(_rbd.Runner.Calls);
        Assert.DoesNotContain("CreateSnapshot", _rbd.Ceph.Calls);
    }
}
