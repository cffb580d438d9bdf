using System.Diagnostics;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd.MultiHost;

/// <summary>
/// Two Docker engines on this machine as two hosts: engine A is the dev engine with the fixture's plugin, engine B
/// is <c>deploy/dev-docker.sh up --name hostb</c> (own mount namespace, data-root, exec-root, API socket and plugin
/// directory) with its own plugin instance started inside its namespace. Users' commands only.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class TwoEnginesTests(DockerPluginFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string EngineB = "hostb";
    private readonly string _volume = DevCluster.NewName();
    private DevEngine _engineB = null!;

    public async Task InitializeAsync() =>
        _engineB = await DevEngine.UpAsync(EngineB, "host-b", "--unmount-grace", "500ms", "--lease-wait", "2s");

    public async Task DisposeAsync()
    {
        await DockerCli.RunAsync("rm", "-f", ContainerOnA);
        await _engineB.DisposeWithVolumeAsync(_volume);
    }

    private string ContainerOnA => $"{_volume}-a";

    private async Task CreateOnBothAsync()
    {
        (await DockerCli.RunAsync("volume", "create", "-d", "rbd", "-o", "size=256M", _volume)).EnsureSuccess();
        (await _engineB.DockerAsync("volume", "create", "-d", "rbd", "-o", "size=256M", _volume)).EnsureSuccess();
    }

    private async Task<string> LeaseOnAAsync()
    {
        using var client = fixture.Plugin.Client();
        return (await client.GetAsync(_volume))!.Value.GetProperty("Status").GetProperty("lease").GetString()!;
    }

    [Fact]
    public async Task RunOnA_ThenRunOnB_ReadsTheSameBytes()
    {
        await CreateOnBothAsync();
        var written = (await DockerCli.RunWithVolumeAsync($"{_volume}:/data",
            "dd if=/dev/urandom of=/data/blob bs=1M count=8 2>/dev/null && sync && sha256sum /data/blob")).EnsureSuccess().Output;

        // The container is gone (--rm): A unmounts after its grace period and gives the lease back.
        var clock = Stopwatch.StartNew();
        for (var deadline = DateTime.UtcNow.AddSeconds(30); await LeaseOnAAsync() != "none"; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "engine A's plugin did not release the volume");
        }

        var released = clock.Elapsed;
        var read = (await _engineB.DockerAsync("run", "--rm", "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image,
            "sha256sum", "/data/blob")).EnsureSuccess().Output;
        output.WriteLine($"A released {released.TotalMilliseconds:0} ms after its container was removed (grace 500 ms); B's docker run read it {clock.Elapsed.TotalMilliseconds:0} ms after");

        Assert.Equal(written.Split(' ')[0], read.Split(' ')[0]);
        Assert.Equal(64, read.Split(' ')[0].Length);
    }

    [Fact]
    public async Task RunOnB_WhileAContainerOnAUsesIt_FailsNamingHostAAndTheTakeover()
    {
        await CreateOnBothAsync();
        (await DockerCli.RunAsync("run", "-d", "--name", ContainerOnA, "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image,
            "sh", "-c", "echo from-a > /data/owner && sleep 300")).EnsureSuccess();
        var onA = Path.Combine(fixture.Root, "mounts", _volume);

        var clock = Stopwatch.StartNew();
        var onB = await _engineB.DockerAsync("run", "--rm", "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image, "cat", "/data/owner");
        output.WriteLine($"docker run on B failed after {clock.Elapsed.TotalMilliseconds:0} ms (LeaseWait 2 s): {onB.Stderr.Trim()}");

        Assert.NotEqual(0, onB.ExitCode);
        Assert.Contains("in use on host host-docker since", onB.Stderr, StringComparison.Ordinal);
        Assert.Contains($"rbd-plugin volume takeover {_volume} --force", onB.Stderr, StringComparison.Ordinal);
        // Each host sees only its own mounts: A's is in A's namespace, none is in B's.
        Assert.True(HostNamespace.IsMountedHere(onA));
        Assert.DoesNotContain(_engineB.Namespace.MountInfo(), f => f[4] == onA || f[4] == Path.Combine(_engineB.Plugin.MountRoot, _volume));
        // A's container keeps its volume.
        (await DockerCli.RunAsync("exec", ContainerOnA, "sh", "-c", "echo still-a >> /data/owner && cat /data/owner")).EnsureSuccess();
    }
}
