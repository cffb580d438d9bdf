using System.Diagnostics;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd.ManagedPlugin;

/// <summary>
/// The managed plugin on a real engine: built and installed by the scripts a user runs, driven with the docker CLI,
/// cross-checked in Ceph and on this machine (loop devices, rbd-fuse processes, the engine's mounts).
/// </summary>
[Trait("Tier", "Docker")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ManagedPluginTests(ManagedPluginFixture plugin, ITestOutputHelper output) : IClassFixture<ManagedPluginFixture>, IAsyncLifetime
{
    private readonly List<string> _volumes = [];

    /// <summary>Each test starts with the plugin enabled, whatever the one before left.</summary>
    public Task InitializeAsync() => plugin.EnableAsync();

    public async Task DisposeAsync()
    {
        foreach (var line in plugin.Timings)
        {
            output.WriteLine(line);
        }

        foreach (var volume in _volumes)
        {
            await plugin.DockerAsync("volume", "rm", "-f", volume);
        }

        await VolumeLeftovers.RemoveAsync([.. _volumes]);
    }

    private string NewVolume()
    {
        var volume = ManagedPluginFixture.NewVolume();
        _volumes.Add(volume);
        return volume;
    }

    private Task<ToolResult> Docker(params string[] args) => plugin.DockerAsync(args);

    /// <summary>docker run --rm --network none -v VOLUME:/data busybox:local sh -c SCRIPT</summary>
    private Task<ToolResult> RunAsync(string volume, string script) =>
        Docker("run", "--rm", "--network", "none", "-v", $"{volume}:/data", DockerCli.Image, "sh", "-c", script);

    private async Task CreateVolumeAsync(string volume) =>
        (await Docker("volume", "create", "-d", ManagedPluginFixture.Name, "-o", "size=1G", volume)).EnsureSuccess("docker volume create");

    [Fact]
    public async Task CreateAndEnable_VolumeWrittenByOneContainerReadByAnother_RemovedFromCeph()
    {
        var volume = NewVolume();

        await CreateVolumeAsync(volume);
        (await RunAsync(volume, "echo hello-managed > /data/f && sync")).EnsureSuccess("the writer");
        var read = (await RunAsync(volume, "cat /data/f")).EnsureSuccess("the reader").Output;

        Assert.Equal("hello-managed", read);
        Assert.Equal($"{ManagedPluginFixture.Name}:latest", (await Docker("volume", "inspect", "-f", "{{.Driver}}", volume)).EnsureSuccess().Output);
        (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{volume}")).EnsureSuccess("the image in Ceph");
        // Released after the reader: UnmountGrace 200ms after the container's exit, then unmounted and unmapped.
        await WaitForAsync(() => Task.FromResult(plugin.Leftovers(volume).Count == 0), "the volume's leftovers to go: " + string.Join(", ", plugin.Leftovers(volume)));

        (await Docker("volume", "rm", volume)).EnsureSuccess("docker volume rm");
        var info = await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{volume}");
        Assert.NotEqual(0, info.ExitCode); // RemoveAction=delete, set through install.sh --set (docker plugin set)
        Assert.Contains("No such file or directory", info.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(volume, (await Docker("volume", "ls", "-q")).EnsureSuccess().Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FreshEngine_ManagedPluginEnabledBeforeAnyUse_DriverListedWithoutActivation()
    {
        var id = await plugin.PluginIdAsync();
        var offset = plugin.Engine.LogLength;

        // Stop and start the engine (as a reboot or a package upgrade does): no volume command, no container after it.
        (await NamedEngine.ScriptAsync("restart", "--name", ManagedPluginFixture.EngineName)).EnsureSuccess("dev-docker.sh restart");
        var clock = Stopwatch.StartNew();

        var listed = (await Docker("plugin", "ls", "--filter", "enabled=true", "--filter", "capability=volumedriver", "--format", "{{.Name}} {{.ID}}"))
            .EnsureSuccess().Output;
        Assert.Contains($"{ManagedPluginFixture.Name}:latest {id[..12]}", listed, StringComparison.Ordinal);
        // The engine started the plugin itself: the daemon inside logged its start with no request from anyone.
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !(await plugin.PluginLogAsync(offset)).Any(l => l.Contains("Reconcile", StringComparison.Ordinal)); await Task.Delay(200))
        {
            Assert.True(DateTime.UtcNow < deadline, "the plugin did not start with the engine:\n" + string.Join('\n', await plugin.PluginLogAsync(offset)));
        }

        output.WriteLine($"listed and started {clock.Elapsed.TotalSeconds:0.0} s after the restarted engine answered");
    }

    [Fact]
    public async Task DisableForced_WhileAContainerRuns_ContainerGetsIoErrorsAndEnableReleasesEverything()
    {
        var volume = NewVolume();
        var container = volume + "-c";
        await CreateVolumeAsync(volume);
        (await Docker("run", "-d", "--name", container, "--network", "none", "-v", $"{volume}:/data", DockerCli.Image,
            "sh", "-c", "echo before > /data/f && sync && sleep 600")).EnsureSuccess("the container");
        await WaitForAsync(async () => (await Docker("exec", container, "cat", "/data/f")).Output == "before", "the container's first write");
        Assert.NotEmpty(plugin.Leftovers(volume)); // mapped: the rbd-fuse process, its loop device, the mount
        var offset = plugin.Engine.LogLength;

        // Docker stops the plugin (its rbd-fuse with it) and unmounts the propagated mount under the container.
        (await Docker("plugin", "disable", "-f", ManagedPluginFixture.Name)).EnsureSuccess("docker plugin disable -f");
        // fsync's answer, not the page cache's: the loop device's file died with rbd-fuse.
        var write = await Docker("exec", container, "dd", "if=/dev/zero", "of=/data/g", "bs=4k", "count=1", "conv=fsync");
        output.WriteLine($"a write after disable -f: exit {write.ExitCode}: {write.Stderr.Trim()}");
        Assert.NotEqual(0, write.ExitCode);
        Assert.Empty(HostCleanup.FuseProcessesUnder(ManagedPluginFixture.FuseDir(volume)));

        (await Docker("plugin", "enable", ManagedPluginFixture.Name)).EnsureSuccess("docker plugin enable");
        var log = await WaitForLogAsync(offset, "did not survive the plugin's stop");
        output.WriteLine(string.Join('\n', log.Where(l => l.Contains("Reconcile", StringComparison.Ordinal))));
        Assert.Contains(log, l => l.Contains(volume, StringComparison.Ordinal) && l.Contains("I/O errors until it is restarted", StringComparison.Ordinal));

        // The container still holds the dead filesystem; once it is gone, nothing of the volume is left here ...
        // Its processes may sit in I/O on the dead device for a while, and dockerd gives up a kill it sees no exit
        // for ("did not receive an exit event"): ask again until it is gone.
        await WaitForAsync(async () => (await Docker("rm", "-f", container)).ExitCode == 0, $"docker rm -f {container}");
        await WaitForAsync(() => Task.FromResult(plugin.Leftovers(volume).Count == 0), "the volume's leftovers to go: " + string.Join(", ", plugin.Leftovers(volume)));
        // ... and the volume is free again, with what was synced before the plugin stopped.
        Assert.Equal("before", (await RunAsync(volume, "cat /data/f")).EnsureSuccess("a new container").Output);
    }

    [Fact]
    public async Task Upgrade_SecondReleaseInstalledUnderTheSameName_KeepsVolumesDataAndState()
    {
        var volume = NewVolume();
        await CreateVolumeAsync(volume);
        (await RunAsync(volume, "echo from-release-1 > /data/f && sync")).EnsureSuccess("the writer");
        var before = await plugin.PluginIdAsync();
        var token = Path.Combine(ManagedPluginFixture.StateDir, "lease-token"); // the host's identity in Ceph's lease records
        var tokenBefore = File.ReadAllText(token);

        await ManagedPluginFixture.CopyAsReleaseAsync("1", "2");
        await plugin.InstallAsync(ManagedPluginFixture.PluginDir("2"), replace: true);

        var after = await plugin.PluginIdAsync();
        Assert.NotEqual(before, after);
        Assert.Equal("test-2", File.ReadAllText(plugin.Namespace.Reach(
            $"/var/lib/rbd-plugin-dev/{ManagedPluginFixture.EngineName}/docker/plugins/{after}/rootfs/etc/rbd-plugin/release")).Trim());
        Assert.Equal(tokenBefore, File.ReadAllText(token)); // the state directory outlived the old plugin
        Assert.Contains(volume, (await Docker("volume", "ls", "-q")).EnsureSuccess().Output, StringComparison.Ordinal);
        Assert.Equal("from-release-1", (await RunAsync(volume, "cat /data/f")).EnsureSuccess("the reader after the upgrade").Output);
    }

    // One setting is enough to prove the path (each setting's check is a fast test of OptionsValidator): every case
    // costs Docker's ~10 s of restarting the failing plugin before enable gives up.
    [Theory]
    [InlineData("RBD_PLUGIN_MAPPER=floppy", "Mapper")]
    public async Task Set_BadValue_EnableRefusedWithTheSettingNamedAsServeNamesIt(string setting, string name)
    {
        await plugin.DisableAsync();
        try
        {
            var offset = plugin.Engine.LogLength;
            (await Docker("plugin", "set", ManagedPluginFixture.Name, setting)).EnsureSuccess("docker plugin set"); // Docker checks no values

            var enable = await Docker("plugin", "enable", "--timeout", "20", ManagedPluginFixture.Name);

            Assert.NotEqual(0, enable.ExitCode);
            Assert.Equal("false", (await Docker("plugin", "inspect", "-f", "{{.Enabled}}", ManagedPluginFixture.Name)).Output);
            var serve = await ToolProcess.RunAsync(Environment.GetEnvironmentVariable("RBD_TEST_DAEMON")!, ["serve", "--" + Flag(name), setting.Split('=')[1]]);
            // rbd-plugin: invalid configuration:\n  Mapper=floppy: use one of auto, krbd, nbd, fuse
            var refusal = serve.Stderr.Split('\n').Single(l => l.Contains(setting.Split('=')[1], StringComparison.Ordinal)).Trim();
            Assert.StartsWith($"{name}=", refusal, StringComparison.Ordinal);
            var log = await plugin.PluginLogAsync(offset);
            output.WriteLine($"enable: {enable.Stderr.Trim()}\nserve: {refusal}\nplugin: {string.Join('\n', log)}");
            Assert.Contains(log, l => l.Contains(refusal, StringComparison.Ordinal));
        }
        finally
        {
            // Docker may still be restarting the failed plugin: set waits for that, then the enable.
            await WaitForAsync(async () => (await Docker("plugin", "set", ManagedPluginFixture.Name, setting.Split('=')[0] + "=" + Default(name))).ExitCode == 0,
                "docker plugin set of the default back");
            await plugin.EnableAsync();
        }
    }

    [Fact]
    public async Task Set_NotSettable_RefusedByDockerNamingIt()
    {
        await plugin.DisableAsync(); // Docker sets nothing on an enabled plugin
        try
        {
            var set = await Docker("plugin", "set", ManagedPluginFixture.Name, "RBD_PLUGIN_SOCKET=/tmp/x.sock");
            output.WriteLine(set.Stderr.Trim());
            Assert.NotEqual(0, set.ExitCode);
            Assert.Contains("RBD_PLUGIN_SOCKET", set.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await plugin.EnableAsync();
        }
    }

    private static string Flag(string setting) => setting switch { "Mapper" => "mapper", "LogLevel" => "log-level", _ => throw new ArgumentException(setting) };

    private static string Default(string setting) => setting switch { "Mapper" => "auto", "LogLevel" => "information", _ => throw new ArgumentException(setting) };

    private async Task<List<string>> WaitForLogAsync(long offset, string text)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(200))
        {
            var log = await plugin.PluginLogAsync(offset);
            if (log.Any(l => l.Contains(text, StringComparison.Ordinal)))
            {
                return log;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the plugin never logged '{text}':\n{string.Join('\n', log)}");
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !await condition(); await Task.Delay(200))
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 30 s for {what}");
        }
    }
}
