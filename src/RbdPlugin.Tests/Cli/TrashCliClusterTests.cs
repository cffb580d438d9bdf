using System.Security.Cryptography;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Cli;

/// <summary>
/// <c>rbd-plugin trash ls|restore|purge</c> as an operator runs them: the real executable against the dev cluster,
/// volumes removed with RemoveAction=trash, data checked with `rbd export`, and a real daemon that must see a
/// restored volume again.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class TrashCliClusterTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-trash-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly string _renamed = DevCluster.NewName();
    private readonly HashSet<string> _trashIds = [];
    private PluginProcess? _daemon;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }

        foreach (var id in _trashIds)
        {
            await CephCli.RunAsync("rbd", "trash", "rm", "--force", "--no-progress", $"{DevCluster.Pool}/{id}");
            await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rmomapkey", "rbd-plugin.trash", id);
        }

        await VolumeLeftovers.RemoveAsync(_volume, _renamed);

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task RmToTrash_Ls_Restore_KeepsTheBytes_Purge_RemovesForGood()
    {
        // Arrange: a volume with data on it (rbd bench writes a pattern, not zeros)
        Ok(await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=64M"));
        (await CephCli.RunAsync("rbd", "bench", "--io-type", "write", "--io-size", "64K", "--io-total", "8M", "--io-pattern", "rand",
            $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd bench");
        var before = await ExportHashAsync(_volume);

        // Act: remove to the trash
        var rm = Ok(await CliProcess.RunAsync("volume", "rm", _volume, "--remove-action", "trash", "--json"));
        Assert.Equal("trash", rm.Json.GetProperty("action").GetString());

        // Assert: trash ls shows it, volume ls does not
        var row = await TrashRowAsync(_volume) ?? throw new Xunit.Sdk.XunitException($"trash ls does not list {_volume}");
        var id = row.GetProperty("imageId").GetString()!;
        _trashIds.Add(id);
        Assert.Equal(DevCluster.Pool, row.GetProperty("pool").GetString());
        Assert.Equal(64UL << 20, row.GetProperty("sizeBytes").GetUInt64());
        var removedAt = row.GetProperty("removedAt").GetDateTimeOffset();
        Assert.InRange(removedAt, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.InRange(row.GetProperty("expiresAt").GetDateTimeOffset() - removedAt, TimeSpan.FromDays(7) - TimeSpan.FromSeconds(5), TimeSpan.FromDays(7) + TimeSpan.FromSeconds(5));
        Assert.Contains(id, (await CephCli.RunAsync("rbd", "trash", "ls", DevCluster.Pool)).Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Ok(await CliProcess.RunAsync("volume", "ls", "--json")).Json.EnumerateArray(), r => r.GetProperty("name").GetString() == _volume);

        // Restore: the same bytes, listed again
        var restored = Ok(await CliProcess.RunAsync("trash", "restore", _volume, "--json"));
        Assert.Equal(_volume, restored.Json.GetProperty("restoredAs").GetString());
        Assert.Equal(id, restored.Json.GetProperty("imageId").GetString());
        Assert.Equal(before, await ExportHashAsync(_volume));
        Assert.Contains(Ok(await CliProcess.RunAsync("volume", "ls", "--json")).Json.EnumerateArray(), r => r.GetProperty("name").GetString() == _volume);
        Assert.Null(await TrashRowAsync(_volume));

        // Restore again: nothing in the trash by that name any more (4)
        Assert.Equal(4, (await CliProcess.RunAsync("trash", "restore", _volume)).ExitCode);

        // Purge: trashed again, then gone for good; a second purge is fine
        Ok(await CliProcess.RunAsync("volume", "rm", _volume, "--remove-action", "trash"));
        var purged = Ok(await CliProcess.RunAsync("trash", "purge", _volume, "--json"));
        Assert.Equal([id], purged.Json.EnumerateArray().Select(p => p.GetProperty("imageId").GetString()));
        Assert.Null(await TrashRowAsync(_volume));
        Assert.DoesNotContain(id, (await CephCli.RunAsync("rbd", "trash", "ls", DevCluster.Pool)).Stdout, StringComparison.Ordinal);
        var again = Ok(await CliProcess.RunAsync("trash", "purge", _volume));
        Assert.Contains("nothing to purge", again.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_NameTakenNow_RefusedSuggestingAs_AsNewName_TheDaemonSeesIt()
    {
        // Arrange: trash a volume with data, then create a new volume of the same name
        Ok(await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=32M"));
        (await CephCli.RunAsync("rbd", "bench", "--io-type", "write", "--io-size", "64K", "--io-total", "4M", "--io-pattern", "rand",
            $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd bench");
        var before = await ExportHashAsync(_volume);
        Ok(await CliProcess.RunAsync("volume", "rm", _volume, "--remove-action", "trash"));
        _trashIds.Add((await TrashRowAsync(_volume))!.Value.GetProperty("imageId").GetString()!);
        Ok(await CliProcess.RunAsync("volume", "create", _volume, "-o", "size=16M"));

        // Act + Assert: refused (5), the new volume untouched, the entry still in the trash
        var refused = await CliProcess.RunAsync("trash", "restore", _volume);
        Assert.Equal(5, refused.ExitCode);
        Assert.Contains("--as", refused.Stderr, StringComparison.Ordinal);
        Assert.NotNull(await TrashRowAsync(_volume));
        Assert.Equal("16M", Ok(await CliProcess.RunAsync("volume", "inspect", _volume, "--json")).Json.GetProperty("status").GetProperty("size").GetString());

        // Act: restore under another name
        var restored = Ok(await CliProcess.RunAsync("trash", "restore", _volume, "--as", _renamed, "--json"));

        // Assert: the bytes are back under the new name, and a daemon lists and gets it
        Assert.Equal($"{DevCluster.Pool}/{_renamed}", restored.Json.GetProperty("image").GetString());
        Assert.Equal(before, await ExportHashAsync(_renamed));
        _daemon = new PluginProcess(Path.Combine(_root, "a"), "host-a");
        await _daemon.StartAsync();
        using var client = _daemon.Client();
        var got = await client.GetAsync(_renamed);
        Assert.NotNull(got);
        Assert.Equal(32UL << 20, got.Value.GetProperty("Status").GetProperty("sizeBytes").GetUInt64());
        var inspect = Ok(await CliProcess.RunAsync("volume", "inspect", _renamed, "--json"));
        Assert.Equal($"{DevCluster.Pool}/{_renamed}", inspect.Json.GetProperty("status").GetProperty("image").GetString());
    }

    private static ToolResult Ok(ToolResult result)
    {
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        return result;
    }

    private static async Task<JsonElement?> TrashRowAsync(string name)
    {
        var ls = Ok(await CliProcess.RunAsync("trash", "ls", "--json"));
        return ls.Json.EnumerateArray().Where(r => r.GetProperty("name").GetString() == name).Select(r => (JsonElement?)r).FirstOrDefault();
    }

    private async Task<string> ExportHashAsync(string name)
    {
        var file = Path.Combine(_root, name + ".img");
        File.Delete(file);
        (await CephCli.RunAsync("rbd", "export", "--no-progress", $"{DevCluster.Pool}/{name}", file)).EnsureSuccess("rbd export");
        await using var stream = File.OpenRead(file);
        var hash = Convert.ToHexString(await SHA256.HashDataAsync(stream));
        File.Delete(file);
        return hash;
    }
}
