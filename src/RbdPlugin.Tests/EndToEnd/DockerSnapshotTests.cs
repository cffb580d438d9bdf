using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// Snapshots, clones and resize as Docker users meet them: <c>-o from-snapshot</c> on <c>docker volume create</c>,
/// and a resize that a running container sees in <c>df</c>, through the real dockerd and the plugin it discovered.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class DockerSnapshotTests(DockerPluginFixture fixture) : IAsyncLifetime
{
    private readonly string _volume = DevCluster.NewName();
    private readonly string _clone = DevCluster.NewName();
    private readonly string _container = DevCluster.NewName();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await DockerCli.RunAsync("rm", "-f", _container);
        foreach (var name in new[] { _clone, _volume })
        {
            await DockerCli.RunAsync("volume", "rm", "-f", name);
            await VolumeLeftovers.RemoveAsync(name);
        }
    }

    /// <summary>The runbook CLI on the same host as the fixture's daemon.</summary>
    private Task<ToolResult> CliAsync(params string[] args) =>
        CliProcess.RunAsync([.. args, "--host-id", fixture.Plugin.HostId, "--state-dir", fixture.Plugin.StateDir]);

    [Fact]
    public async Task VolumeCreateFromSnapshot_GivesAContainerTheSnapshotsData()
    {
        // xfs: growing a mounted ext4 needs CAP_SYS_RESOURCE, which the containers running these tests lack.
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=320M", "-o", "fstype=xfs", _volume)).EnsureSuccess();
        (await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "echo before the snapshot > /data/note && sync")).EnsureSuccess();
        var snap = await CliAsync("snapshot", "create", _volume, "s1");
        Assert.True(snap.ExitCode == 0, snap.Stderr);
        (await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "echo after the snapshot > /data/note && sync")).EnsureSuccess();

        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", $"from-snapshot={_volume}@s1", "-o", "size=640M", _clone)).EnsureSuccess();

        // The source stays mounted on this host meanwhile: the clone's xfs carries the source's UUID, which xfs
        // refuses to mount twice unless told (nouuid).
        var holder = $"{_volume}-holder";
        (await DockerCli.RunAsync("run", "-d", "--name", holder, "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image, "sleep", "300")).EnsureSuccess();
        ToolResult read;
        try
        {
            read = (await DockerCli.RunWithVolumeAsync($"{_clone}:/data", "cat /data/note; df -k /data | tail -1")).EnsureSuccess();
        }
        finally
        {
            await DockerCli.RunAsync("rm", "-f", holder);
        }

        Assert.StartsWith("before the snapshot", read.Output, StringComparison.Ordinal);
        // Grown at its first mount: more than the 320M source's filesystem holds.
        Assert.True(long.Parse(read.Output.Split('\n')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) > 500_000,
            read.Output);
        Assert.Equal("after the snapshot", (await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "cat /data/note")).EnsureSuccess().Output);

        // A snapshot that does not exist is refused, naming it, and creates nothing.
        var missing = await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", $"from-snapshot={_volume}@nope", DevCluster.NewName());
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("has no snapshot nope", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resize_GrowsTheFilesystemARunningContainerSees()
    {
        // xfs: growing a mounted ext4 needs CAP_SYS_RESOURCE, which the containers running these tests lack.
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=320M", "-o", "fstype=xfs", _volume)).EnsureSuccess();
        (await DockerCli.RunAsync("run", "-d", "--name", _container, "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image, "sleep", "600")).EnsureSuccess();
        var before = await DfKilobytesAsync();

        var resize = await CliAsync("volume", "resize", _volume, "1G", "--json");

        Assert.True(resize.ExitCode == 0, resize.Stderr);
        Assert.Equal("grown", resize.Json.GetProperty("filesystem").GetString());
        var after = await DfKilobytesAsync();
        Assert.True(after > before + 600_000, $"df in the container: {before} KiB -> {after} KiB");
    }

    private async Task<long> DfKilobytesAsync()
    {
        var df = (await DockerCli.RunAsync("exec", _container, "df", "-k", "/data")).EnsureSuccess().Output;
        return long.Parse(df.Split('\n')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
