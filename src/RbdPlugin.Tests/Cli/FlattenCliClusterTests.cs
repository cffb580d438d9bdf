using RbdPlugin.Hosting;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Cli;

/// <summary>`volume flatten` as an operator runs it, next to a real daemon ("host-a"): a clone keeps its snapshot and
/// its source alive until flattened; flatten works while the clone is mounted (its rbd-fuse holds the exclusive
/// lock); afterwards the source can go and the clone still has its files.</summary>
[Trait("Tier", "Cluster")]
public sealed class FlattenCliClusterTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-flatten-").FullName;
    private readonly string _source = DevCluster.NewName();
    private readonly string _clone = DevCluster.NewName();
    private PluginProcess? _daemon;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
            await HostCleanup.ReleaseUnderAsync(_root);
        }

        await VolumeLeftovers.RemoveAsync(_clone, _source);

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Flatten_MountedClone_FreesItsSnapshotAndSource_KeepsItsFiles_SecondTimeNothingToDo()
    {
        _daemon = new PluginProcess(Path.Combine(_root, "a"), "host-a", "--unmount-grace", "200ms", "--lease-duration", "6s", "--ceph-timeout", "2s");
        await _daemon.StartAsync();
        using var client = _daemon.Client();
        var payload = new byte[3 << 20];
        Random.Shared.NextBytes(payload);

        // A source with a file, a snapshot of it, and a clone of that snapshot, mounted and written to.
        await client.CreateAsync(_source, new() { ["size"] = "128M" });
        await File.WriteAllBytesAsync(Path.Combine(await client.MountAsync(_source, "m1"), "from-source"), payload);
        await client.UnmountAsync(_source, "m1");
        await WaitUntilReleasedAsync(_source);
        AssertOk(await CliProcess.RunAsync("snapshot", "create", _source, "s1", "--json"));
        AssertOk(await CliProcess.RunAsync("volume", "clone", $"{_source}@s1", _clone, "--json"));
        var mounted = await client.MountAsync(_clone, "m1");
        await File.WriteAllBytesAsync(Path.Combine(mounted, "in-clone"), payload);

        // While the clone depends on it, the source cannot be deleted, and the error says how to fix that.
        AssertOk(await CliProcess.RunAsync("snapshot", "rm", _source, "s1", "--json"));
        var refused = await CliProcess.RunAsync("volume", "rm", _source, "--remove-action", "delete");
        Assert.Equal(ExitCodes.InUse, refused.ExitCode);
        Assert.Contains("volume flatten", refused.Stderr, StringComparison.Ordinal);

        var flattened = await CliProcess.RunAsync("volume", "flatten", _clone, "--json");

        AssertOk(flattened);
        Assert.True(flattened.Json.GetProperty("flattened").GetBoolean());
        Assert.Equal($"{_source}@s1", flattened.Json.GetProperty("from").GetString());
        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", $"{DevCluster.Pool}/{_clone}")).EnsureSuccess("rbd info").Json;
        Assert.False(info.TryGetProperty("parent", out _), "the clone still has a parent after flatten");
        var inspect = await CliProcess.RunAsync("volume", "inspect", _clone, "--json");
        AssertOk(inspect);
        Assert.Equal($"{_source}@s1", inspect.Json.GetProperty("status").GetProperty("createdFrom").GetString());
        AssertOk(await CliProcess.RunAsync("volume", "rm", _source, "--remove-action", "delete", "--json"));
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{_source}")).ExitCode);

        // The mounted clone went on working through the flatten, and its files survive a remount without the source.
        await File.WriteAllBytesAsync(Path.Combine(mounted, "after-flatten"), payload);
        await client.UnmountAsync(_clone, "m1");
        var remounted = await client.MountAsync(_clone, "m2");
        foreach (var file in new[] { "from-source", "in-clone", "after-flatten" })
        {
            Assert.Equal(payload, await File.ReadAllBytesAsync(Path.Combine(remounted, file)));
        }

        var again = await CliProcess.RunAsync("volume", "flatten", _clone);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing to do", again.Stdout, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.NotFound, (await CliProcess.RunAsync("volume", "flatten", DevCluster.NewName())).ExitCode);
        await client.UnmountAsync(_clone, "m2");
    }

    /// <summary>The lease is given back after the unmount grace; until then the CLI's rm would be refused for it.</summary>
    private static async Task WaitUntilReleasedAsync(string name)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var inspect = await CliProcess.RunAsync("volume", "inspect", name, "--json");
            AssertOk(inspect);
            if (inspect.Json.GetProperty("status").GetProperty("lease").GetString() == "none")
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{name}'s lease is still held 30 s after its unmount");
            await Task.Delay(200);
        }
    }

    private static void AssertOk(ToolResult result) => Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
}
