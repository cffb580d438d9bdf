using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Backups;

/// <summary>A backup whose manifest is gone (deleted by hand, or a crash between sealing its data and writing its
/// manifest) must not leave its snapshot on the image for good: the next backup removes it.</summary>
[Trait("Tier", "Cluster")]
public sealed class BackupStraySnapshotClusterTests : IAsyncLifetime
{
    private readonly string _volume = DevCluster.NewName();
    private readonly string _dir = Directory.CreateTempSubdirectory("rbd-plugin-backups-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await BackupClusterVolumes.RemoveAsync(_volume);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task NextBackup_RemovesTheSnapshotOfABackupWhoseManifestIsGone_KeepsOnlyItsOwn()
    {
        Assert.Equal(0, (await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=16M")).ExitCode);
        await BackupClusterVolumes.WriteRandomAsync(_volume, "2M");
        var first = await BackupAsync();
        await BackupClusterVolumes.WriteRandomAsync(_volume, "1M");
        var second = await BackupAsync();
        File.Delete(Path.Combine(_dir, _volume, second + ".json")); // as a crash right before the manifest leaves it
        Assert.Equal([Snapshot(second)], await SnapshotsAsync());

        var third = await BackupAsync();

        Assert.Equal([Snapshot(third)], await SnapshotsAsync());
        Assert.True(File.Exists(Path.Combine(_dir, _volume, second + ".rbddiff")), "the data of the manifest-less backup is the operator's to keep or delete");
        Assert.NotEqual(first, third);
    }

    private async Task<string> BackupAsync()
    {
        var backup = await CliProcess.RunAsync("backup", "create", _volume, _dir, "--json");
        Assert.True(backup.ExitCode == 0, backup.Stderr);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, backup.Json.GetProperty("warning").ValueKind);
        return backup.Json.GetProperty("id").GetString()!;
    }

    private static string Snapshot(string id) => RbdPlugin.Backups.BackupId.Snapshot(id);

    private Task<List<string>> SnapshotsAsync() => BackupClusterVolumes.SnapshotsAsync(_volume);
}
