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
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(12);
    private static readonly string[] PluginArgs = ["--unmount-grace", "500ms", "--lease-wait", "2s", "--lease-duration", "12s", "--ceph-timeout", "4s"];

    private readonly string _volume = DevCluster.NewName();
    private readonly string _service = "svc-" + Guid.NewGuid().ToString("N")[..8];
    private DevEngine? _a, _b;
    private bool _bKilled;

    public async Task InitializeAsync()
    {
        try
        {
            await SetUpAsync();
        }
        catch
        {
            await DisposeAsync(); // xUnit does not when InitializeAsync throws
            throw;
        }
    }

    private async Task SetUpAsync()
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
        // A run that died half-way leaves Swarm state in the engines' data-roots.
        await _b.DockerAsync("swarm", "leave", "--force");
        await _a.DockerAsync("swarm", "leave", "--force");
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

        foreach (var engine in new[] { _bKilled ? null : _b, _a })
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

        foreach (var name in new[] { "swa", "swb" })
        {
            // These engines are this test's alone. A node that died keeps its Swarm membership and its dead task in
            // its data-root, and its next dockerd would hang at start rejoining and restoring them: a fresh node next time.
            var dataRoot = $"/var/lib/rbd-plugin-dev/{name}/docker";
            if (await DevEngine.StatusAsync(name) != 0 && Directory.Exists(dataRoot))
            {
                await ToolProcess.RunAsync("rm", ["-rf", "--one-file-system", dataRoot]);
            }
        }

        await DeleteNetworksAsync();
    }

    [Fact]
    public async Task Drain_MovesTheServiceWithItsBytesToTheOtherNode_AFreshNodeIsSchedulableOnceItsPluginIsAnnounced()
    {
        var (nodeA, nodeB) = (await NodeIdAsync(_a!), await NodeIdAsync(_b!));

        // A node whose engine has never used a spec/socket plugin does not list it: Swarm would not schedule on it.
        Assert.DoesNotContain("rbd", await VolumePluginsAsync(nodeB));
        await AnnounceAsync(nodeA, nodeB);

        // Given a one-replica service on node A (B drained for the start) writing checksummed data to its rbd volume.
        var (onA, written) = await StartServiceAsync(_a!, drained: nodeB);

        // When node A is drained.
        var (mountsB, unmountsA) = (_b!.Plugin.Log.Count, _a!.Plugin.Log.Count);
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
        Assert.NotEqual(onA, onB);
    }

    [Fact]
    public async Task NodeKilled_TheTaskRestartsOnTheOtherNodeWithItsBytes_OnceTheLeaseLapses()
    {
        var (nodeA, nodeB) = (await NodeIdAsync(_a!), await NodeIdAsync(_b!));
        await AnnounceAsync(nodeA, nodeB);
        var (_, written) = await StartServiceAsync(_b!, drained: nodeA);

        // When node B dies: everything in its mount namespace (dockerd, containerd, the task, the plugin, rbd-fuse) killed -9.
        var clock = Stopwatch.StartNew();
        await KillNodeAsync(_b!);
        var onA = await RunningContainerAsync(_a!, TimeSpan.FromSeconds(180));
        var failover = clock.Elapsed;

        // Then Swarm restarts the task on A, whose plugin took the volume over once B's lease lapsed, with B's bytes.
        var read = (await _a!.DockerAsync("exec", onA, "sha256sum", "/data/blob")).EnsureSuccess().Output.Split(' ')[0];
        Assert.Equal(written, read);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kill -9 of node B to the task running on A: {failover.TotalSeconds:0.0} s (lease {LeaseDuration.TotalSeconds:0} s; Mount on A {ElapsedMs(_a.Plugin.Log, "Mount")} ms)"));
        Assert.True(failover > LeaseDuration, $"the task ran on A after {failover.TotalSeconds:0.0} s, before B's lease could lapse");
    }

    [Fact]
    public async Task TwoReplicasOnOneVolume_NeverBothRunning_TheSecondTaskFailsWithThePluginsError()
    {
        var (nodeA, nodeB) = (await NodeIdAsync(_a!), await NodeIdAsync(_b!));
        await AnnounceAsync(nodeA, nodeB);

        // One replica per node: the second one's Mount is refused while the first node holds the volume.
        (await _a!.DockerAsync("service", "create", "--detach", "--name", _service, "--replicas", "2", "--replicas-max-per-node", "1",
            "--restart-delay", "2s", "--mount", $"type=volume,source={_volume},destination=/data,volume-driver=rbd,volume-opt=size=256M",
            DockerCli.Image, "sh", "-c", "echo \"$(hostname)\" >> /data/owners && sync && sleep 3600")).EnsureSuccess("service create");

        string errors = "";
        await WaitAsync(async () =>
        {
            errors = (await _a.DockerAsync("service", "ps", "--no-trunc", "--format", "{{.Error}}", _service)).Output;
            return errors.Contains("in use on host", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(120), $"a task of {_service} to fail with the plugin's refusal");

        // Never both running, over several of Swarm's retries of the refused task.
        for (var until = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < until; await Task.Delay(500))
        {
            var running = 0;
            foreach (var engine in new[] { _a, _b! })
            {
                var ids = (await engine.DockerAsync("ps", "-q", "--filter", $"label=com.docker.swarm.service.name={_service}", "--filter", "status=running")).Output;
                running += ids.Length > 0 ? 1 : 0;
            }

            Assert.True(running <= 1, $"tasks of {_service} run on both nodes at once: {await TasksAsync()}");
        }

        Assert.Contains("in use on host host-sw", errors, StringComparison.Ordinal);
        output.WriteLine($"docker service ps --no-trunc errors: {errors.ReplaceLineEndings(" | ")}");
    }

    /// <summary>The step the unit runs after dockerd starts (rbd-plugin-announce.service): then both nodes list the driver.</summary>
    private async Task AnnounceAsync(string nodeA, string nodeB)
    {
        foreach (var engine in new[] { _a!, _b! })
        {
            (await engine.DockerAsync("volume", "ls", "-q", "--filter", "driver=rbd")).EnsureSuccess("announce");
        }

        await WaitAsync(async () => (await VolumePluginsAsync(nodeA)).Contains("rbd") && (await VolumePluginsAsync(nodeB)).Contains("rbd"),
            TimeSpan.FromSeconds(60), "both nodes to list the rbd volume plugin");
    }

    /// <summary>The one-replica service on <paramref name="on"/> (the other node drained until it runs): its container and the
    /// SHA-256 of the blob it wrote.</summary>
    private async Task<(string Container, string Sha256)> StartServiceAsync(DevEngine on, string drained)
    {
        (await _a!.DockerAsync("node", "update", "--availability", "drain", drained)).EnsureSuccess();
        (await _a.DockerAsync("service", "create", "--detach", "--name", _service, "--replicas", "1", "--stop-grace-period", "2s",
            "--restart-delay", "2s", "--mount", $"type=volume,source={_volume},destination=/data,volume-driver=rbd,volume-opt=size=256M",
            DockerCli.Image, "sh", "-c",
            "test -f /data/blob || { dd if=/dev/urandom of=/data/blob.tmp bs=64k count=64 2>/dev/null && sync && mv /data/blob.tmp /data/blob && sync; }; sleep 3600"))
            .EnsureSuccess("service create");
        var container = await RunningContainerAsync(on, TimeSpan.FromSeconds(120));
        await WaitAsync(async () => (await on.DockerAsync("exec", container, "test", "-f", "/data/blob")).ExitCode == 0, TimeSpan.FromSeconds(30), "the blob");
        var sha = (await on.DockerAsync("exec", container, "sha256sum", "/data/blob")).EnsureSuccess().Output.Split(' ')[0];
        (await _a.DockerAsync("node", "update", "--availability", "active", drained)).EnsureSuccess();
        return (container, sha);
    }

    /// <summary>A node's sudden death: its containers (the engine's cgroup parent, cgroup.kill) and every process in its
    /// engine's mount namespace but the namespace's anchor, by pid.</summary>
    private async Task KillNodeAsync(DevEngine engine)
    {
        _bKilled = true;
        var containers = $"/sys/fs/cgroup/{engine.Name}/cgroup.kill";
        if (File.Exists(containers))
        {
            await File.WriteAllTextAsync(containers, "1");
        }

        var anchor = int.Parse(File.ReadAllText($"/run/rbd-plugin-dev-{engine.Name}/ns.pid").Trim(), CultureInfo.InvariantCulture);
        var ns = new FileInfo($"/proc/{anchor}/ns/mnt").LinkTarget;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid) && pid != anchor)
            {
                try
                {
                    if (new FileInfo($"{dir}/ns/mnt").LinkTarget == ns)
                    {
                        await ToolProcess.RunAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // gone meanwhile
                }
            }
        }
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
