using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// A real dockerd discovers the real daemon at /run/docker/plugins/rbd.sock and drives it with the user's own
/// commands, against the real dev cluster. Also the moby external-driver behaviours from PROTOCOL.md, counted from
/// the plugin's one-line-per-request log.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class DockerEngineTests(DockerPluginFixture fixture) : IAsyncLifetime
{
    private readonly string _volume = DevCluster.NewName();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await DockerCli.RunAsync("volume", "rm", "-f", _volume);
        await CephCli.RunAsync("rbd", "rm", $"{DevCluster.Pool}/{_volume}");
        await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rm", $"rbd-plugin.lease.{_volume}");
    }

    [Fact]
    public async Task UsersCommand_CreateWriteReadInspectListRemove()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=10G", _volume)).EnsureSuccess();

        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd info").Json;
        Assert.Equal(10L << 30, info.GetProperty("size").GetInt64());

        (await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "echo hello from A > /data/greeting && sync")).EnsureSuccess();
        var read = (await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "cat /data/greeting")).EnsureSuccess();
        Assert.Equal("hello from A", read.Output);

        var inspect = JsonDocument.Parse((await DockerCli.RunAsync("volume", "inspect", _volume)).EnsureSuccess().Stdout).RootElement[0];
        Assert.Equal("rbd", inspect.GetProperty("Driver").GetString());
        Assert.Equal("global", inspect.GetProperty("Scope").GetString());
        var status = inspect.GetProperty("Status");
        foreach (var key in new[] { "pool", "image", "sizeBytes", "fstype" })
        {
            Assert.True(status.TryGetProperty(key, out _), $"Status lacks {key}: {status}");
        }

        Assert.Contains(_volume, (await DockerCli.RunAsync("volume", "ls", "-q", "--filter", "driver=rbd")).EnsureSuccess().Stdout);

        (await DockerCli.RunAsync("volume", "rm", _volume)).EnsureSuccess();
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{_volume}")).ExitCode);
    }

    [Fact]
    public async Task InspectWithTemplate_SizeAndLimitsPrintExactly()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=10G", "-o", "iops-limit=500", "-o", "write-bps-limit=10M", _volume)).EnsureSuccess();

        var shown = await DockerCli.RunAsync("volume", "inspect", "-f", "{{.Status.sizeBytesText}} {{.Status.size}} {{.Status.limitsText}}", _volume);
        var number = await DockerCli.RunAsync("volume", "inspect", "-f", "{{.Status.sizeBytes}}", _volume);

        Assert.Equal("10737418240 10G iops-limit=500 write-bps-limit=10M", shown.EnsureSuccess().Output);
        // The number stays a number for JSON readers; a Go template prints it as a float (docs/troubleshooting.md).
        Assert.Equal("1.073741824e+10", number.EnsureSuccess().Output);
    }

    [Fact]
    public async Task RunWithVolumeDriver_OneOfEachVerb()
    {
        var before = fixture.Plugin.Log.Count;

        (await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "echo x > /data/x", "--volume-driver", "rbd")).EnsureSuccess();
        (await DockerCli.RunAsync("volume", "rm", _volume)).EnsureSuccess();

        var verbs = Requests(before);
        Assert.Equal(1, verbs.Count(v => v == "Create"));
        Assert.Equal(1, verbs.Count(v => v == "Mount"));
        Assert.Equal(1, verbs.Count(v => v == "Unmount"));
        Assert.Equal(1, verbs.Count(v => v == "Remove"));
        Assert.DoesNotContain("Path", verbs);
    }

    [Fact]
    public async Task VolumesFrom_TwoMountsTwoUnmounts()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", _volume)).EnsureSuccess();
        var first = $"{_volume}-c1";
        (await DockerCli.RunAsync("create", "--name", first, "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image, "true")).EnsureSuccess();
        var before = fixture.Plugin.Log.Count;
        try
        {
            (await DockerCli.RunAsync("run", "--rm", "--network", "none", "--volumes-from", first, DockerCli.Image, "sh", "-c", "echo y > /data/y")).EnsureSuccess();
        }
        finally
        {
            await DockerCli.RunAsync("rm", "-fv", first);
        }

        var verbs = Requests(before);
        Assert.Equal(verbs.Count(v => v == "Mount"), verbs.Count(v => v == "Unmount"));
        Assert.Contains("Mount", verbs);
    }

    [Fact]
    public async Task InspectUnknown_NoSuchVolume()
    {
        var result = await DockerCli.RunAsync("volume", "inspect", "never-" + _volume);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("no such volume", result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task CreateWithBadOption_UserSeesTheErr()
    {
        var result = await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=lots", _volume);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("invalid option size=lots", result.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{_volume}")).ExitCode);
    }

    [Fact]
    public async Task DockerCp_WhileRunning_ContainerKeepsItsMount()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", _volume)).EnsureSuccess();
        var container = $"{_volume}-run";
        var before = fixture.Plugin.Log.Count;
        (await DockerCli.RunAsync("run", "-d", "--name", container, "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image, "sleep", "300")).EnsureSuccess();
        try
        {
            var source = Path.Combine(fixture.Root, $"{_volume}.txt");
            await File.WriteAllTextAsync(source, "copied in");
            (await DockerCli.RunAsync("cp", source, $"{container}:/data/copied.txt")).EnsureSuccess();
            await Task.Delay(1500); // longer than the plugin's grace period

            var read = (await DockerCli.RunAsync("exec", container, "cat", "/data/copied.txt")).EnsureSuccess();
            Assert.Equal("copied in", read.Output);
            (await DockerCli.RunAsync("exec", container, "sh", "-c", "echo still > /data/after-cp")).EnsureSuccess();
            // The container's Mount, then cp's Mount/Unmount pairs with the same ID (engine 20.10 makes two): the
            // container still holds exactly one reference.
            var verbs = Requests(before);
            Assert.True(verbs.Count(v => v == "Mount") >= 2, string.Join(',', verbs));
            Assert.Equal(1, verbs.Count(v => v == "Mount") - verbs.Count(v => v == "Unmount"));
        }
        finally
        {
            await DockerCli.RunAsync("rm", "-f", container);
        }

        var all = Requests(before);
        Assert.Equal(all.Count(v => v == "Mount"), all.Count(v => v == "Unmount"));
    }

    [Fact]
    public async Task FailedMount_ClearErrAndNoUnmount()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", _volume)).EnsureSuccess();
        // Replace the image behind the plugin's back with one that carries a DOS partition table.
        var disk = Path.Combine(fixture.Root, _volume + ".img");
        await using (var file = File.Create(disk))
        {
            file.SetLength(4 << 20);
            file.Position = 446;
            file.Write([0x00, 0x20, 0x21, 0x00, 0x83, 0x41, 0x24, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00]);
            file.Position = 510;
            file.Write([0x55, 0xAA]);
        }

        (await CephCli.RunAsync("rbd", "rm", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd rm");
        (await CephCli.RunAsync("rbd", "import", disk, $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd import");
        var before = fixture.Plugin.Log.Count;

        var run = await DockerCli.RunWithVolumeAsync($"{_volume}:/data", "echo should-not-run");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("signature", run.Stderr, StringComparison.Ordinal);
        var verbs = Requests(before);
        Assert.Contains("Mount", verbs);
        Assert.DoesNotContain("Unmount", verbs);
    }

    [Fact]
    public async Task VolumeLs_OneListCall()
    {
        var before = fixture.Plugin.Log.Count;
        (await DockerCli.RunAsync("volume", "ls")).EnsureSuccess();
        Assert.Equal(1, fixture.Plugin.Log.Skip(before).Count(l => l.Contains("\"Verb\":\"VolumeDriver.List\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task OutOfBandDelete_ThenCreateWithNewOptions_Works()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=1G", _volume)).EnsureSuccess();
        (await CephCli.RunAsync("rbd", "rm", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd rm");

        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=2G", _volume)).EnsureSuccess();

        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", $"{DevCluster.Pool}/{_volume}")).EnsureSuccess("rbd info").Json;
        Assert.Equal(2L << 30, info.GetProperty("size").GetInt64());
    }

    /// <summary>The verbs of the requests logged since line <paramref name="from"/> for this test's volume.</summary>
    private List<string> Requests(int from) => fixture.Plugin.Log.Skip(from)
        .Select(line => line.StartsWith('{') ? JsonDocument.Parse(line).RootElement : default)
        .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("Verb", out _)
            && e.TryGetProperty("Volume", out var v) && v.GetString() == _volume)
        .Select(e => e.GetProperty("Verb").GetString()!.Replace("VolumeDriver.", "", StringComparison.Ordinal))
        .ToList();
}
