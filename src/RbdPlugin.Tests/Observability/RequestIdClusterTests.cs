using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Observability;

/// <summary>
/// One Docker request, one id on every log line it causes: the driver's steps, each Ceph call, each command the
/// mapper and the filesystem run, and the unmount that the grace timer does later on the Unmount's behalf.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class RequestIdClusterTests : IAsyncLifetime
{
    private const string MountId = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-reqid-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly List<PluginProcess> _plugins = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var plugin in _plugins)
        {
            using var client = plugin.Client();
            try
            {
                await client.UnmountAsync(_volume, MountId);
                await client.RemoveAsync(_volume);
            }
            catch (Exception e) when (e is PluginErrorException or HttpRequestException)
            {
            }

            await plugin.DisposeAsync();
        }

        await HostCleanup.ReleaseAndRemoveAsync(_root, _volume);
    }

    [Fact]
    public async Task Mount_JsonLogs_EveryLineItCausesCarriesItsRequestId()
    {
        // Arrange: a quiet daemon (its start-up trash pass done), a volume
        var plugin = await StartAsync("json");
        using var client = plugin.Client();
        await WaitForLineAsync(plugin, l => l.Contains("rbd-plugin.trash", StringComparison.Ordinal));
        await client.CreateAsync(_volume, new() { ["size"] = "64M" });

        // Act
        var first = plugin.Log.Count;
        await client.MountAsync(_volume, MountId);
        var mountLines = Parse(plugin.Log.Skip(first));

        // Assert: every line logged while the Mount ran carries the id its own verb line carries
        var id = Assert.Single(mountLines, l => Text(l, "Verb") == "VolumeDriver.Mount").GetProperty("RequestId").GetString();
        Assert.False(string.IsNullOrEmpty(id));
        Assert.All(mountLines, l => Assert.True(Text(l, "RequestId") == id, $"line without the Mount's RequestId {id}: {l}"));
        var commands = mountLines.Select(l => Text(l, "Command")).OfType<string>().ToList();
        foreach (var program in new[] { "rbd-fuse ", "losetup ", "blkid ", "mkfs.ext4 ", "mount " })
        {
            Assert.Contains(commands, c => c.StartsWith(program, StringComparison.Ordinal));
        }

        Assert.Contains(mountLines, l => Text(l, "Operation")?.StartsWith("rados_lock_exclusive ", StringComparison.Ordinal) == true);
        Assert.Contains(mountLines, l => Text(l, "SourceContext") == "RbdPlugin.Volumes.VolumeMounter");

        // Act: the Unmount answers at once; the grace timer unmounts and unmaps later
        first = plugin.Log.Count;
        await client.UnmountAsync(_volume, MountId);
        await WaitForLineAsync(plugin, l => l.Contains("Released volume", StringComparison.Ordinal));
        var unmountLines = Parse(plugin.Log.Skip(first));

        // Assert: those later lines carry the Unmount's id, not the Mount's
        var unmountId = Assert.Single(unmountLines, l => Text(l, "Verb") == "VolumeDriver.Unmount").GetProperty("RequestId").GetString();
        Assert.NotEqual(id, unmountId);
        var released = unmountLines.Where(l => Text(l, "Command")?.StartsWith("umount ", StringComparison.Ordinal) == true
                                               || Text(l, "Command")?.StartsWith("losetup -d ", StringComparison.Ordinal) == true
                                               || Text(l, "SourceContext") == "RbdPlugin.Volumes.VolumeMounter").ToList();
        Assert.True(released.Count >= 3, string.Join('\n', unmountLines));
        Assert.All(released, l => Assert.Equal(unmountId, Text(l, "RequestId")));
    }

    [Fact]
    public async Task Create_TextLogs_RequestIdInBracketsOnItsLinesOnly()
    {
        var plugin = await StartAsync("text");
        using var client = plugin.Client();

        await client.CreateAsync(_volume, new() { ["size"] = "64M" });

        var verb = Assert.Single(plugin.Log, l => l.Contains("PluginEndpoints [", StringComparison.Ordinal) && l.Contains("VolumeDriver.Create", StringComparison.Ordinal));
        var tag = verb[verb.IndexOf('[', StringComparison.Ordinal)..(verb.IndexOf("]:", StringComparison.Ordinal) + 1)];
        Assert.Matches(@"^\[\S+\]$", tag);
        Assert.Contains(plugin.Log, l => l.Contains($"VolumeStore {tag}: Created volume {_volume}", StringComparison.Ordinal));
        Assert.Contains(plugin.Log, l => l.Contains("RbdPlugin.Hosting.Listeners: Listening on unix socket", StringComparison.Ordinal));
    }

    private async Task<PluginProcess> StartAsync(string format)
    {
        var plugin = new PluginProcess(Path.Combine(_root, format), "host-reqid-" + format, "--log-level", "debug", "--unmount-grace", "200ms")
        {
            LogFormat = format,
        };
        _plugins.Add(plugin);
        await plugin.StartAsync();
        return plugin;
    }

    private static List<JsonElement> Parse(IEnumerable<string> lines) =>
        lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static string? Text(JsonElement line, string property) =>
        line.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static async Task WaitForLineAsync(PluginProcess plugin, Func<string, bool> match)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !plugin.Log.Any(match); await Task.Delay(50))
        {
            Assert.True(DateTime.UtcNow < deadline, "expected log line did not appear:\n" + string.Join('\n', plugin.Log));
        }
    }
}
