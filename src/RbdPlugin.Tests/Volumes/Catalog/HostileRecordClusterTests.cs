using System.Security.Cryptography;
using System.Text.Json.Nodes;
using RbdPlugin.Ceph;
using RbdPlugin.Tests.Backups;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Volumes.Catalog;

/// <summary>
/// Invariant 9 against the real daemon and cluster: a record another host's key wrote into the pool's volume index
/// (here through the native omap, as any librados client can) is refused at Mount: nothing is mapped, no mkfs runs
/// (the image stays all zeros), and the error names the volume and the problem.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class HostileRecordClusterTests : IAsyncLifetime
{
    private const string Size = "16M";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-hostile-").FullName;
    private readonly string _a = DevCluster.NewName();
    private readonly string _b = DevCluster.NewName();
    private PluginProcess _plugin = null!;
    private PluginClient _client = null!;

    public async Task InitializeAsync()
    {
        _plugin = new PluginProcess(_root, "host-a");
        await _plugin.StartAsync();
        _client = _plugin.Client();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _plugin.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await VolumeLeftovers.RemoveAsync(_a, _b);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Mount_IndexRecordWithMkfsCopyingEtc_RefusedNothingMappedOrFormatted()
    {
        // Arrange: a real volume whose index entry now asks mkfs.ext4 to copy the host's /etc into it.
        await _client.CreateAsync(_a, new() { ["size"] = Size });
        var record = JsonNode.Parse((await BackupClusterVolumes.RecordAsync(_a)).GetRawText())!;
        record["spec"]!["mkfsOptions"] = "-d /etc";
        await WriteIndexAsync(_a, record.ToJsonString());

        // Act
        var e = await Assert.ThrowsAsync<PluginErrorException>(() => _client.MountAsync(_a, PluginClient.NewMountId()));

        // Assert
        Assert.StartsWith($"volume {_a}: its record in the volume index is not trusted", e.Err, StringComparison.Ordinal);
        Assert.Contains("'-d' is not an allowed mkfs.ext4 flag", e.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(_plugin.Log, l => l.Contains("\"@m\":\"Made ", StringComparison.Ordinal));
        Assert.Empty(await WatchersAsync(_a));
        Assert.Equal(ZerosSha256(16 << 20), await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{_a}"));
        Assert.False(Directory.Exists(Path.Combine(_plugin.MountRoot, _a)));
    }

    [Fact]
    public async Task Mount_IndexEntryOfAHoldingTheRecordOfB_RefusedAndBNeverMapped()
    {
        await _client.CreateAsync(_a, new() { ["size"] = Size });
        await _client.CreateAsync(_b, new() { ["size"] = Size });
        await WriteIndexAsync(_a, (await BackupClusterVolumes.RecordAsync(_b)).GetRawText());

        var e = await Assert.ThrowsAsync<PluginErrorException>(() => _client.MountAsync(_a, PluginClient.NewMountId()));

        Assert.Contains($"it names volume \"{_b}\", but it is the entry of \"{_a}\"", e.Err, StringComparison.Ordinal);
        Assert.Empty(await WatchersAsync(_b));
        Assert.Equal(ZerosSha256(16 << 20), await RbdImageHash.Sha256Async($"{DevCluster.Pool}/{_b}"));
    }

    private static async Task WriteIndexAsync(string key, string json)
    {
        await using var cluster = await DevCluster.ConnectAsync();
        await cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", "rbd-plugin.volumes"), key, json, CancellationToken.None);
    }

    private static async Task<List<string>> WatchersAsync(string volume) =>
        [.. (await CephCli.RunAsync("rbd", "status", "--format", "json", $"{DevCluster.Pool}/{volume}")).EnsureSuccess("rbd status")
            .Json.GetProperty("watchers").EnumerateArray().Select(w => w.GetProperty("address").GetString()!)];

    private static string ZerosSha256(int bytes) => Convert.ToHexStringLower(SHA256.HashData(new byte[bytes]));
}
