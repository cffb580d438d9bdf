using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Backups;

/// <summary>
/// backup create --full and backup prune as a cron job runs them: the real executable, real export-diffs of a
/// dev-cluster volume, and a restore of what prune kept, checked byte for byte (`rbd export` SHA-256).
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class BackupPruneClusterTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rbd-plugin-backups-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly string _restored = DevCluster.NewName();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await BackupClusterVolumes.RemoveAsync(_volume);
        await BackupClusterVolumes.RemoveAsync(_restored);
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task<JsonElement> RunAsync(params string[] args)
    {
        var run = await CliProcess.RunAsync([.. args, "--json"]);
        Assert.True(run.ExitCode == 0, $"{string.Join(' ', args)}: exit {run.ExitCode}: {run.Stderr}");
        return run.Json;
    }

    private async Task<(string Id, string? Kind, string? ParentId)> BackupAsync(params string[] flags)
    {
        var json = await RunAsync(["backup", "create", _volume, _dir, .. flags]);
        return (json.GetProperty("id").GetString()!, json.GetProperty("kind").GetString(), json.GetProperty("parentId").GetString());
    }

    /// <summary>The backups' ids, as their manifest files name them, sorted (ordinal).</summary>
    private string[] Manifests() =>
        [.. Directory.EnumerateFiles(Path.Combine(_dir, _volume), "*.json").Select(p => Path.GetFileNameWithoutExtension(p)).Order(StringComparer.Ordinal)];

    private static string[] Ids(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    [Fact]
    public async Task PruneKeep1_AfterCreateFull_DeletesExactlyTheFirstChain_TheNewestStillRestoresByteIdentical()
    {
        // Given two chains: a full and an incremental, then `create --full` and an incremental on it.
        await RunAsync("volume", "create", _volume, "-o", "size=32M");
        await BackupClusterVolumes.WriteRandomAsync(_volume, "4M");
        var a1 = await BackupAsync();
        await BackupClusterVolumes.WriteRandomAsync(_volume, "1M");
        var a2 = await BackupAsync();
        var b1 = await BackupAsync("--full");
        await BackupClusterVolumes.WriteRandomAsync(_volume, "1M");
        var b2 = await BackupAsync();
        var newestSha256 = await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{_volume}");

        Assert.Equal(("full", null), (a1.Kind, a1.ParentId));
        Assert.Equal(("incremental", a1.Id), (a2.Kind, a2.ParentId));
        Assert.Equal(("full", null), (b1.Kind, b1.ParentId)); // although an incremental on a2 was possible
        Assert.Equal(("incremental", b1.Id), (b2.Kind, b2.ParentId));
        Assert.Equal([$"rbd-plugin-backup-{b2.Id}"], await BackupClusterVolumes.SnapshotsAsync(_volume));
        // File names in id order, which is not creation order within one second (the id's tail is random).
        string[] all = [.. new[] { a1.Id, a2.Id, b1.Id, b2.Id }.Order(StringComparer.Ordinal)];
        Assert.Equal(all, Manifests());

        // --keep 0 is refused: exit 2, saying how to delete everything by hand; nothing changes.
        var zero = await CliProcess.RunAsync("backup", "prune", _volume, _dir, "--keep", "0");
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("rm -r", zero.Stderr, StringComparison.Ordinal);
        Assert.Equal(all, Manifests());

        // A dry run reports the first chain and deletes nothing.
        var dry = await RunAsync("backup", "prune", _volume, _dir, "--keep", "1", "--dry-run");
        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.Equal([a2.Id, a1.Id], Ids(dry.GetProperty("deleted")));
        Assert.Equal(all, Manifests());

        // When: the real prune.
        var pruned = await RunAsync("backup", "prune", _volume, _dir, "--keep", "1");

        // Then: exactly the first chain is gone, the second (with its full) kept; the image's snapshot untouched.
        Assert.Equal([a2.Id, a1.Id], Ids(pruned.GetProperty("deleted")));
        Assert.Equal([b2.Id, b1.Id], Ids(pruned.GetProperty("kept")));
        Assert.Empty(pruned.GetProperty("skipped").EnumerateArray());
        Assert.False(pruned.GetProperty("dryRun").GetBoolean());
        Assert.Equal([.. new[] { b1.Id, b2.Id }.Order(StringComparer.Ordinal)], Manifests());
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(_dir, _volume)), f => f.Contains(a1.Id, StringComparison.Ordinal) || f.Contains(a2.Id, StringComparison.Ordinal));
        Assert.Equal([$"rbd-plugin-backup-{b2.Id}"], await BackupClusterVolumes.SnapshotsAsync(_volume));

        var ls = await RunAsync("backup", "ls", _dir, "--verify");
        Assert.Equal([b1.Id, b2.Id], ls.EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        Assert.All(ls.EnumerateArray(), r => Assert.Equal("complete", r.GetProperty("status").GetString()));

        var restore = await RunAsync("backup", "restore", _dir, _restored);
        Assert.Equal([b1.Id, b2.Id], Ids(restore.GetProperty("chain")));
        Assert.Equal(newestSha256, await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{_restored}"));

        // And the next scheduled backup is still an incremental on the newest kept one.
        var next = await BackupAsync();
        Assert.Equal(("incremental", b2.Id), (next.Kind, next.ParentId));
    }
}
