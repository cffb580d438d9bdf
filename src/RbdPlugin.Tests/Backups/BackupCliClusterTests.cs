using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Backups;

/// <summary>
/// backup create|ls|restore as an operator runs them: the real executable, the real rbd export-diff/import-diff,
/// the dev cluster. Byte-exactness is the SHA-256 of every byte of the image (`rbd export`).
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class BackupCliClusterTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rbd-plugin-backups-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly List<string> _volumes = [];

    public Task InitializeAsync()
    {
        _volumes.Add(_volume);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var volume in _volumes)
        {
            await BackupClusterVolumes.RemoveAsync(volume);
        }

        Directory.Delete(_dir, recursive: true);
    }

    private string NewVolumeName()
    {
        var name = DevCluster.NewName();
        _volumes.Add(name);
        return name;
    }

    private async Task<JsonElement> BackupAsync()
    {
        var backup = await CliProcess.RunAsync("backup", "create", _volume, _dir, "--json");
        Assert.True(backup.ExitCode == 0, backup.Stderr);
        return backup.Json;
    }

    [Fact]
    public async Task Chain_FullAndTwoIncrementals_EachPointRestoresByteIdentical()
    {
        // A volume with non-default options, which the restored volumes must carry.
        var created = await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=72M", "-o", "object-size=1M", "-o", "mount-options=noatime");
        Assert.True(created.ExitCode == 0, created.Stderr);

        // Three points in time, different data written before each: full, then two incrementals.
        var points = new List<(string Id, string Sha256)>();
        foreach (var total in new[] { "6M", "2M", "1M" })
        {
            await BackupClusterVolumes.WriteRandomAsync(_volume, total);
            var backup = await BackupAsync();
            points.Add((backup.GetProperty("id").GetString()!, await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{_volume}")));
            Assert.Equal(points.Count == 1 ? "full" : "incremental", backup.GetProperty("kind").GetString());
            Assert.Equal(points.Count == 1 ? null : points[^2].Id, backup.GetProperty("parentId").GetString());
            // Only the newest backup's snapshot stays on the image.
            Assert.Equal([$"rbd-plugin-backup-{points[^1].Id}"], await BackupClusterVolumes.SnapshotsAsync(_volume));
        }

        Assert.Equal(3, points.Select(p => p.Sha256).Distinct().Count());

        // ls --verify: one chain, every backup complete, parents linked.
        var ls = await CliProcess.RunAsync("backup", "ls", _dir, "--verify", "--json");
        Assert.True(ls.ExitCode == 0, ls.Stderr);
        var rows = ls.Json.EnumerateArray().ToList();
        Assert.Equal(points.Select(p => p.Id), rows.Select(r => r.GetProperty("id").GetString()));
        Assert.All(rows, r => Assert.Equal("complete", r.GetProperty("status").GetString()));
        Assert.Equal([null, points[0].Id, points[1].Id], rows.Select(r => r.GetProperty("parentId").GetString()));

        // Restore each point into a new volume: byte-identical, same options, a normal volume without snapshots.
        foreach (var (id, sha256) in points)
        {
            var name = NewVolumeName();
            var restore = id == points[^1].Id
                ? await CliProcess.RunAsync("backup", "restore", _dir, name, "--json") // default: the newest
                : await CliProcess.RunAsync("backup", "restore", _dir, name, "--at", id, "--json");
            Assert.True(restore.ExitCode == 0, restore.Stderr);
            Assert.Equal(id, restore.Json.GetProperty("backupId").GetString());

            Assert.Equal(sha256, await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{name}"));
            Assert.Empty(await BackupClusterVolumes.SnapshotsAsync(name));
            var record = await BackupClusterVolumes.RecordAsync(name);
            Assert.Equal(72L << 20, record.GetProperty("spec").GetProperty("sizeBytes").GetInt64());
            Assert.Equal(1L << 20, record.GetProperty("spec").GetProperty("objectSize").GetInt64());
            Assert.Equal("noatime", record.GetProperty("spec").GetProperty("mountOptions").GetString());
            var inspect = await CliProcess.RunAsync("volume", "inspect", name, "--json");
            Assert.True(inspect.ExitCode == 0, inspect.Stderr);
        }
    }

    [Fact]
    public async Task Create_NoSuchVolume_Exit4_NothingWritten()
    {
        var backup = await CliProcess.RunAsync("backup", "create", _volume, _dir);

        Assert.Equal(4, backup.ExitCode);
        Assert.Contains("volume ls", backup.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public async Task Create_DirectoryMissing_Exit2()
    {
        Assert.Equal(0, (await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=8M")).ExitCode);

        var backup = await CliProcess.RunAsync("backup", "create", _volume, Path.Combine(_dir, "not-mounted"), "--json");

        Assert.Equal(2, backup.ExitCode);
        Assert.Contains("mkdir -p", JsonDocument.Parse(backup.Stderr).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(await BackupClusterVolumes.SnapshotsAsync(_volume));
    }

    [Fact]
    public async Task Restore_IntoAnExistingVolume_Exit5_ItsDataUntouched()
    {
        Assert.Equal(0, (await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=8M")).ExitCode);
        await BackupClusterVolumes.WriteRandomAsync(_volume, "1M");
        await BackupAsync();
        var other = NewVolumeName();
        Assert.Equal(0, (await CliProcess.RunAsync("volume", "create", other, "-o", "size=8M")).ExitCode);
        var before = await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{other}");

        var restore = await CliProcess.RunAsync("backup", "restore", _dir, other);

        Assert.Equal(5, restore.ExitCode);
        Assert.Contains("already exists", restore.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{other}"));
    }
}
