using RbdPlugin.Hosting;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Cli;

/// <summary>`volume flatten` as an operator runs it against the dev cluster: a clone keeps its snapshot and its
/// source alive until flattened; after that both can go and the clone still has every byte.</summary>
[Trait("Tier", "Cluster")]
public sealed class FlattenCliClusterTests : IAsyncLifetime
{
    private readonly string _source = DevCluster.NewName();
    private readonly string _clone = DevCluster.NewName();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var name in new[] { _clone, _source })
        {
            await CephCli.RunAsync("rbd", "snap", "purge", "--no-progress", $"{DevCluster.Pool}/{name}");
            await CephCli.RunAsync("rbd", "rm", "--no-progress", $"{DevCluster.Pool}/{name}");
            await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rmomapkey", "rbd-plugin.volumes", name);
        }
    }

    [Fact]
    public async Task Flatten_Clone_FreesItsSnapshotAndSource_KeepsItsBytes_SecondTimeNothingToDo()
    {
        AssertOk(await CliProcess.RunAsync("volume", "create", _source, "-o", "size=64M", "--json"));
        // Data in the source's first objects, so the clone really shares something with its parent.
        var image = $"{DevCluster.Pool}/{_source}";
        (await CephCli.RunAsync("rbd", "bench", "--io-type", "write", "--io-size", "1M", "--io-total", "24M",
            "--io-pattern", "rand", image)).EnsureSuccess("rbd bench");
        AssertOk(await CliProcess.RunAsync("snapshot", "create", _source, "s1", "--json"));
        var atSnapshot = await RbdExport.ChecksumAsync($"{image}@s1");
        AssertOk(await CliProcess.RunAsync("volume", "clone", $"{_source}@s1", _clone, "--json"));

        // While the clone depends on it, the source cannot be removed, and the error says how to fix that.
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
        AssertOk(await CliProcess.RunAsync("volume", "rm", _source, "--remove-action", "delete", "--json"));
        Assert.Equal(atSnapshot, await RbdExport.ChecksumAsync($"{DevCluster.Pool}/{_clone}"));

        var again = await CliProcess.RunAsync("volume", "flatten", _clone);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing to do", again.Stdout, StringComparison.Ordinal);
        var missing = await CliProcess.RunAsync("volume", "flatten", DevCluster.NewName());
        Assert.Equal(ExitCodes.NotFound, missing.ExitCode);
    }

    private static void AssertOk(CliProcess.Result result) => Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
}
