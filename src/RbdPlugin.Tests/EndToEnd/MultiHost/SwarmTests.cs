using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RbdPlugin.Tests.EndToEnd.MultiHost;

/// <summary>
/// A real two-node Swarm moving a service with its rbd volume: two named engines, each in a network namespace of its
/// own joined by a veth pair this test makes (addresses of those namespaces only), one manager and one worker, each
/// with its own plugin instance in the engine's mount namespace but the root network namespace (where the dev
/// cluster listens). Users' commands only.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class SwarmTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string NetA = "rbdsw-a", NetB = "rbdsw-b";
    private const string AddrA = "10.213.7.1", AddrB = "10.213.7.2";
    private static readonly string[] PluginArgs = ["--unmount-grace", "500ms", "--lease-wait", "2s"];

    private readonly string _volume = DevCluster.NewName();
    private readonly string _service = "svc-" + Guid.NewGuid().ToString("N")[..8];
    private DevEngine? _a, _b;

    public async Task InitializeAsync()
    {
        await DeleteNetworksAsync();
        await IpAsync("netns", "add", NetA);
        await IpAsync("netns", "add", NetB);
        await IpAsync("link", "add", "rbdsw-va", "netns", NetA, "type", "veth", "peer", "name", "rbdsw-vb", "netns", NetB);
        await IpAsync("-n", NetA, "addr", "add", $"{AddrA}/24", "dev", "rbdsw-va");
        await IpAsync("-n", NetB, "addr", "add", $"{AddrB}/24", "dev", "rbdsw-vb");
        foreach (var (ns, dev) in new[] { (NetA, "rbdsw-va"), (NetB, "rbdsw-vb") })
        {
            await IpAsync("-n", ns, "link", "set", "lo", "up");
            await IpAsync("-n", ns, "link", "set", dev, "up");
        }

        _a = await DevEngine.UpInNetworkAsync("swa", NetA, "host-swa", PluginArgs);
        _b = await DevEngine.UpInNetworkAsync("swb", NetB, "host-swb", PluginArgs);
        (await _a.DockerAsync("swarm", "init", "--advertise-addr", AddrA)).EnsureSuccess("swarm init");
        var token = (await _a.DockerAsync("swarm", "join-token", "-q", "worker")).EnsureSuccess().Output;
        (await _b.DockerAsync("swarm", "join", "--token", token, $"{AddrA}:2377")).EnsureSuccess("swarm join");
    }

    public async Task DisposeAsync()
    {
        if (_a is not null)
        {
            await _a.DockerAsync("service", "rm", _service);
        }

        foreach (var engine in new[] { _b, _a })
        {
            if (engine is not null)
            {
                // Containers go first (their mounts released through this engine's plugin), then the Swarm state.
                await WaitAsync(async () => (await engine.DockerAsync("ps", "-q")).Output.Length == 0, TimeSpan.FromSeconds(60), "the service's containers to stop");
                await engine.DockerAsync("swarm", "leave", "--force");
            }
        }

        if (_b is not null)
        {
            await _b.DisposeWithVolumeAsync(_volume);
        }

        if (_a is not null)
        {
            await _a.DisposeWithVolumeAsync(_volume);
        }

        await DeleteNetworksAsync();
    }

    [Fact]
    public async Task Drain_MovesTheServiceWithItsBytesToTheOtherNode_AFreshNodeIsSchedulableOnceItsPluginIsAnnounced()
    {
        var (nodeA, nodeB) = (await NodeIdAsync(_a!), await NodeIdAsync(_b!));

        // A node whose engine has never used a spec/socket plugin does not list it: Swarm would not schedule on it.
        Assert.DoesNotContain("rbd", await VolumePluginsAsync(nodeB));
        // The step the unit runs after dockerd starts (deploy/docker-plugin-spec/rbd-plugin-announce.service).
        foreach (var engine in new[] { _a!, _b! })
        {
            (await engine.DockerAsync("volume", "ls", "-q", "--filter", "driver=rbd")).EnsureSuccess("announce");
        }

        await WaitAsync(async () => (await VolumePluginsAsync(nodeA)).Contains("rbd") && (await VolumePluginsAsync(nodeB)).Contains("rbd"),
            TimeSpan.FromSeconds(60), "both nodes to list the rbd volume plugin");

        // Given a one-replica service on node A (B drained for the start) writing checksummed data to its rbd volume.
        (await _a!.DockerAsync("node", "update", "--availability", "drain", nodeB)).EnsureSuccess();
        (await _a.DockerAsync("service", "create", "--detach", "--name", _service, "--replicas", "1", "--stop-grace-period", "2s",
            "--mount", $"type=volume,source={_volume},destination=/data,volume-driver=rbd,volume-opt=size=256M",
            DockerCli.Image, "sh", "-c",
            "test -f /data/blob || { dd if=/dev/urandom of=/data/blob bs=64k count=64 2>/dev/null && sync; }; sleep 3600")).EnsureSuccess("service create");
        var onA = await RunningContainerAsync(_a, TimeSpan.FromSeconds(120));
        await WaitAsync(async () => (await _a.DockerAsync("exec", onA, "test", "-f", "/data/blob")).ExitCode == 0, TimeSpan.FromSeconds(30), "the blob");
        var written = (await _a.DockerAsync("exec", onA, "sha256sum", "/data/blob")).EnsureSuccess().Output.Split(' ')[0];

        // When node A is drained.
        (await _a.DockerAsync("node", "update", "--availability", "active", nodeB)).EnsureSuccess();
        var (mountsB, unmountsA) = (_b!.Plugin.Log.Count, _a.Plugin.Log.Count);
        var clock = Stopwatch.StartNew();
        (await _a.DockerAsync("node", "update", "--availability", "drain", nodeA)).EnsureSuccess();
        var onB = await RunningContainerAsync(_b, TimeSpan.FromSeconds(120));
        var moved = clock.Elapsed;

        // Then the task runs on B with the same bytes, and A holds nothing.
        var read = (await _b.DockerAsync("exec", onB, "sha256sum", "/data/blob")).EnsureSuccess().Output.Split(' ')[0];
        Assert.Equal(written, read);
        Assert.Equal(64, read.Length);
        Assert.Equal("", (await _a.DockerAsync("ps", "-q")).Output);
        var mountMs = ElapsedMs(_b.Plugin.Log.Skip(mountsB), "Mount");
        var unmountMs = ElapsedMs(_a.Plugin.Log.Skip(unmountsA), "Unmount");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"drain of A to the task running on B: {moved.TotalSeconds:0.0} s (stop grace 2 s); plugin: Unmount on A {unmountMs} ms, Mount on B {mountMs} ms"));
        Assert.True(mountMs > 0, "B's plugin logged no successful Mount of the volume");
    }

    /// <summary>The milliseconds of the last successful <paramref name="verb"/> of this test's volume in a plugin's log.</summary>
    private long ElapsedMs(IEnumerable<string> log, string verb)
    {
        long ms = 0;
        foreach (var line in log.Where(l => l.Contains(_volume, StringComparison.Ordinal)))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.TryGetProperty("Verb", out var v) && v.GetString() == $"VolumeDriver.{verb}" && root.TryGetProperty("ElapsedMs", out var e)
                && !root.TryGetProperty("Err", out _))
            {
                ms = (long)e.GetDouble();
            }
        }

        return ms;
    }

    private static async Task<string> NodeIdAsync(DevEngine engine) =>
        (await engine.DockerAsync("info", "--format", "{{.Swarm.NodeID}}")).EnsureSuccess().Output;

    /// <summary>The volume plugins the manager's view of <paramref name="node"/> lists (what the scheduler matches).</summary>
    private async Task<string> VolumePluginsAsync(string node) =>
        (await _a!.DockerAsync("node", "inspect", node, "--format",
            "{{range .Description.Engine.Plugins}}{{if eq .Type \"Volume\"}}{{.Name}} {{end}}{{end}}")).EnsureSuccess().Output;

    private async Task<string> RunningContainerAsync(DevEngine engine, TimeSpan timeout)
    {
        var id = "";
        try
        {
            await WaitAsync(async () =>
            {
                id = (await engine.DockerAsync("ps", "-q", "--filter", $"label=com.docker.swarm.service.name={_service}", "--filter", "status=running")).Output;
                return id.Length > 0;
            }, timeout, $"a task of {_service} running on {engine.Name}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; its tasks: {await TasksAsync()}", e);
        }

        return id;
    }

    private async Task<string> TasksAsync() =>
        (await _a!.DockerAsync("service", "ps", "--no-trunc", "--format", "{{.Node}} {{.CurrentState}} {{.Error}}", _service)).Output.ReplaceLineEndings("; ");

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        for (var deadline = DateTime.UtcNow + timeout; !await condition(); await Task.Delay(250))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
            }
        }
    }

    private static async Task IpAsync(params string[] args) => (await ToolProcess.RunAsync("ip", args)).EnsureSuccess($"ip {string.Join(' ', args)}");

    /// <summary>Deleting a namespace deletes the veth end in it, and with it the pair.</summary>
    private static async Task DeleteNetworksAsync()
    {
        foreach (var ns in new[] { NetA, NetB })
        {
            if (File.Exists($"/run/netns/{ns}"))
            {
                await ToolProcess.RunAsync("ip", ["netns", "delete", ns]);
            }
        }
    }
}
