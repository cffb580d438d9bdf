using RbdPlugin.Cli;
using RbdPlugin.Backups;

namespace RbdPlugin.Tests.Backups;

/// <summary>`backup prune` and `backup create --full` as parsed and run in-process (prune reads DIR only: no cluster).</summary>
[Trait("Tier", "Fast")]
public sealed class BackupPruneCliTests : IDisposable
{
    private const string Volume = "db1";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-backup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string[] Files() => BackupFiles.Names(_root, Volume);

    private Task<int> PruneAsync(params string[] flags) => RootCommandFactory.InvokeAsync(["backup", "prune", Volume, _root, .. flags]);

    [Fact]
    public void CreateFull_Parses()
    {
        var parse = RootCommandFactory.Create().Parse(["backup", "create", Volume, _root, "--full", "--json"]);

        Assert.Empty(parse.Errors);
        Assert.Equal("create", parse.CommandResult.Command.Name);
    }

    [Theory]
    [InlineData("--keep", "0")]
    [InlineData("--keep", "-2")]
    [InlineData("--keep", "two")]
    [InlineData("--dry-run")] // no --keep at all
    public async Task Prune_KeepMissingOrBelow1_Exits2_NothingDeleted(params string[] flags)
    {
        BackupFiles.Chain(_root, Volume, 2);
        var before = Files();

        Assert.Equal(2, await PruneAsync(flags));
        Assert.Equal(before, Files());
    }

    [Fact]
    public async Task Prune_Keep1_Exits0_AndDeletesTheOlderChain_DryRunFirstDeletesNothing()
    {
        var old = BackupFiles.Chain(_root, Volume, 2);
        var newer = BackupFiles.Write(_root, Volume, 2, null);
        var before = Files();

        Assert.Equal(0, await PruneAsync("--keep", "1", "--dry-run", "--json"));
        Assert.Equal(before, Files());

        Assert.Equal(0, await PruneAsync("--keep", "1"));
        Assert.Equal([newer + ".json", newer + ".rbddiff"], Files());
        Assert.DoesNotContain(Files(), f => old.Any(id => f.StartsWith(id, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Prune_Verify_KeepsTheOldChainWhenTheNewerFullsBytesChanged()
    {
        var old = BackupFiles.Chain(_root, Volume, 2);
        var newer = BackupFiles.Write(_root, Volume, 2, null);
        var data = BackupFiles.DataPath(_root, Volume, newer);
        var bytes = File.ReadAllBytes(data);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(data, bytes);
        var before = Files();

        Assert.Equal(0, await PruneAsync("--keep", "1", "--verify"));
        Assert.Equal(before, Files()); // the old chain is the restore point; the damaged newest is never deleted

        Assert.Equal(0, await PruneAsync("--keep", "1"));
        Assert.DoesNotContain(Files(), f => old.Any(id => f.StartsWith(id, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Prune_NoBackupsOfThatVolume_Exits4() => Assert.Equal(4, await PruneAsync("--keep", "1"));

    [Fact]
    public async Task Prune_DirectoryMissing_Exits2() =>
        Assert.Equal(2, await RootCommandFactory.InvokeAsync(["backup", "prune", Volume, Path.Combine(_root, "not-mounted"), "--keep", "1"]));

    [Fact]
    public async Task Prune_WhileABackupRuns_Exits5()
    {
        BackupFiles.Chain(_root, Volume, 1);
        using var running = RbdPlugin.Backups.BackupDirectory.Open(_root).Lock(Volume);

        Assert.Equal(5, await PruneAsync("--keep", "1"));
    }

    [Fact]
    public void DescribePrune_OneLinePerDeletion_SkippedWithProblem_ThenTheKeptSummary()
    {
        var result = new BackupPruneResult(Volume, "/b/db1", ["k2", "k1"], ["d2", "d1"], [new("s1", "no readable manifest: gone")], DryRun: false);

        var lines = BackupCommand.DescribePrune(result).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["deleted backup d2", "deleted backup d1", "skipped s1: no readable manifest: gone",
            "kept 2 backup(s) of db1 in /b/db1, newest first: k2, k1; 2 deleted"], lines);
        Assert.StartsWith("would delete backup d2", BackupCommand.DescribePrune(result with { DryRun = true }), StringComparison.Ordinal);
        Assert.Contains("dry run: 2 would be deleted, nothing was", BackupCommand.DescribePrune(result with { DryRun = true }), StringComparison.Ordinal);
    }
}
