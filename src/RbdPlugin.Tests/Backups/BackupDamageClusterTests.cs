using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Backups;

/// <summary>A real backup chain (full + one incremental of a dev-cluster volume), made once; each test damages its own copy.</summary>
public sealed class BackupChainFixture : IAsyncLifetime
{
    public string Volume { get; } = DevCluster.NewName();

    public string Dir { get; } = Directory.CreateTempSubdirectory("rbd-plugin-backups-").FullName;

    public List<string> Ids { get; } = [];

    public async Task InitializeAsync()
    {
        var created = await CliProcess.RunAsync("volume", "create", Volume, "-o", "size=16M");
        Assert.True(created.ExitCode == 0, created.Stderr);
        foreach (var total in new[] { "4M", "1M" })
        {
            await BackupClusterVolumes.WriteRandomAsync(Volume, total);
            var backup = await CliProcess.RunAsync("backup", "create", Volume, Dir, "--json");
            Assert.True(backup.ExitCode == 0, backup.Stderr);
            Ids.Add(backup.Json.GetProperty("id").GetString()!);
        }
    }

    public async Task DisposeAsync()
    {
        await BackupClusterVolumes.RemoveAsync(Volume);
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>A damaged backup is reported by ls and refused by restore, which then creates nothing at all.</summary>
[Trait("Tier", "Cluster")]
public sealed class BackupDamageClusterTests(BackupChainFixture chain) : IClassFixture<BackupChainFixture>, IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rbd-plugin-backups-").FullName;
    private readonly string _restored = DevCluster.NewName();

    public Task InitializeAsync()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(chain.Dir, chain.Volume)))
        {
            Directory.CreateDirectory(Path.Combine(_dir, chain.Volume));
            File.Copy(file, Path.Combine(_dir, chain.Volume, Path.GetFileName(file)));
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await BackupClusterVolumes.RemoveAsync(_restored);
        Directory.Delete(_dir, recursive: true);
    }

    private string PathOf(string id, string suffix) => Path.Combine(_dir, chain.Volume, id + suffix);

    private async Task<Dictionary<string, JsonElement>> LsAsync(params string[] flags)
    {
        var ls = await CliProcess.RunAsync(["backup", "ls", _dir, "--json", .. flags]);
        Assert.True(ls.ExitCode == 0, ls.Stderr);
        return ls.Json.EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!);
    }

    /// <summary>Restore is refused with exit 1 and a message containing <paramref name="expected"/>; no volume and no image exist afterwards.</summary>
    private async Task AssertRestoreRefusedAsync(string expected, params string[] flags)
    {
        var restore = await CliProcess.RunAsync(["backup", "restore", _dir, _restored, .. flags]);

        Assert.Equal(1, restore.ExitCode);
        Assert.Contains(expected, restore.Stderr, StringComparison.Ordinal);
        Assert.Contains("Nothing was created", restore.Stderr, StringComparison.Ordinal);
        Assert.Equal(4, (await CliProcess.RunAsync("volume", "inspect", _restored)).ExitCode);
        Assert.False(await BackupClusterVolumes.ImageExistsAsync(_restored));
    }

    [Fact]
    public async Task TruncatedIncrement_LsIncomplete_RestoreRefused_OlderPointStillRestores()
    {
        var data = PathOf(chain.Ids[1], ".rbddiff");
        using (var file = new FileStream(data, FileMode.Open))
        {
            file.SetLength(file.Length / 2);
        }

        var rows = await LsAsync();
        Assert.Equal("complete", rows[chain.Ids[0]].GetProperty("status").GetString());
        Assert.Equal("incomplete", rows[chain.Ids[1]].GetProperty("status").GetString());
        Assert.Contains("truncated", rows[chain.Ids[1]].GetProperty("problem").GetString(), StringComparison.Ordinal);

        await AssertRestoreRefusedAsync("truncated");

        var older = await CliProcess.RunAsync("backup", "restore", _dir, _restored, "--at", chain.Ids[0]);
        Assert.True(older.ExitCode == 0, older.Stderr);
    }

    [Fact]
    public async Task FlippedByteInFull_OnlyVerifySeesIt_RestoreRefusedAtEveryPoint()
    {
        var data = PathOf(chain.Ids[0], ".rbddiff");
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(data, bytes);

        Assert.Equal("complete", (await LsAsync())[chain.Ids[0]].GetProperty("status").GetString()); // lengths only
        var verified = await LsAsync("--verify");
        Assert.Equal("corrupt", verified[chain.Ids[0]].GetProperty("status").GetString());
        Assert.Equal("incomplete", verified[chain.Ids[1]].GetProperty("status").GetString());

        await AssertRestoreRefusedAsync("SHA-256");
        await AssertRestoreRefusedAsync("SHA-256", "--at", chain.Ids[0]);
    }

    [Fact]
    public async Task MissingParentManifest_RestoreOfTheIncrementRefused()
    {
        File.Delete(PathOf(chain.Ids[0], ".json"));

        Assert.Equal("incomplete", (await LsAsync())[chain.Ids[1]].GetProperty("status").GetString());
        await AssertRestoreRefusedAsync($"its parent {chain.Ids[0]} is incomplete", "--at", chain.Ids[1]);
    }

    [Fact]
    public async Task MissingParentEntirely_RestoreRefusedNamingIt()
    {
        File.Delete(PathOf(chain.Ids[0], ".json"));
        File.Delete(PathOf(chain.Ids[0], ".rbddiff"));

        await AssertRestoreRefusedAsync($"its parent {chain.Ids[0]} is missing");
    }
}
