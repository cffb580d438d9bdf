
namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// Another host on this machine: a named Docker engine from <c>deploy/dev-docker.sh up --name NAME</c> (own mount
/// namespace, data-root, exec-root, API socket and plugin directory) with its own plugin daemon, started inside the
/// engine's namespace and listening in its plugin directory. The engine is started here only if it was not running,
/// and then stopped again at the end; the plugin, its mounts and its state always are.
/// </summary>
internal sealed class DevEngine : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-engine-").FullName;
    private bool _startedHere;
    private HostNamespace? _namespace;

    private DevEngine(string name) => Name = name;

    public string Name { get; }

    /// <summary>This host's plugin daemon.</summary>
    public PluginProcess Plugin { get; private set; } = null!;

    public string Host => $"unix:///run/rbd-plugin-dev-{Name}/docker.sock";

    /// <summary>Where this engine looks for plugins (/run/docker/plugins inside its namespace), seen from outside.</summary>
    public string PluginSocket => $"/run/rbd-plugin-dev-{Name}/plugins/rbd.sock";

    /// <summary>The engine's mount namespace (held across dockerd restarts).</summary>
    public HostNamespace Namespace => _namespace ??= HostNamespace.OfEngine(Name);

    /// <summary>Brings the engine up and starts its plugin as host <paramref name="hostId"/>.</summary>
    public static Task<DevEngine> UpAsync(string name, string hostId, params string[] pluginArgs) =>
        UpInNetworkAsync(name, null, hostId, pluginArgs);

    /// <summary>As <see cref="UpAsync"/>, with dockerd in network namespace <paramref name="netns"/> (a Swarm node with an
    /// address of its own); the plugin stays in the root one, where the dev cluster listens.</summary>
    public static async Task<DevEngine> UpInNetworkAsync(string name, string? netns, string hostId, params string[] pluginArgs)
    {
        var engine = new DevEngine(name);
        engine._startedHere = (await ScriptAsync("status", "--name", name)).ExitCode != 0;
        var up = await ScriptAsync(["up", "--name", name, .. netns is null ? Array.Empty<string>() : ["--netns", netns]]);
        if (up.ExitCode != 0)
        {
            throw new InvalidOperationException($"dev-docker.sh up --name {name} exited {up.ExitCode}: {up.Stderr}");
        }

        // The socket is /run/docker/plugins/rbd.sock inside the engine's namespace.
        engine.Plugin = new PluginProcess(engine._root, hostId, pluginArgs) { Socket = engine.PluginSocket, Namespace = engine.Namespace };
        await engine.Plugin.StartAsync();
        return engine;
    }

    /// <summary>dev-docker.sh status --name NAME: 0 when the engine answers.</summary>
    public static async Task<int> StatusAsync(string name) => (await ScriptAsync("status", "--name", name)).ExitCode;

    /// <summary>docker -H ENGINE ARGS.</summary>
    public Task<ToolResult> DockerAsync(params string[] args) => DockerCli.RunAsync(["-H", Host, .. args]);

    /// <summary>dockerd stops (SIGTERM) or dies (SIGKILL) and starts again in the same namespace.</summary>
    public async Task RestartAsync(bool kill)
    {
        var result = await ScriptAsync(["restart", "--name", Name, .. kill ? new[] { "--kill" } : []]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dev-docker.sh restart --name {Name} exited {result.ExitCode}: {result.Stderr}");
        }
    }

    /// <summary>
    /// Ends a test that used <paramref name="volume"/> on this engine and the dev engine: removes it through both
    /// (Docker forgets it), stops this host, then removes what a failed test may have left in Ceph (the image and
    /// its lease object).
    /// </summary>
    public async Task DisposeWithVolumeAsync(string volume)
    {
        await DockerAsync("volume", "rm", "-f", volume);
        await DockerCli.RunAsync("volume", "rm", "-f", volume);
        await StopAsync(volume);
    }

    public async ValueTask DisposeAsync() => await StopAsync(volume: null);

    private async Task StopAsync(string? volume)
    {
        if (Plugin is not null)
        {
            await Plugin.DisposeAsync();
            File.Delete(PluginSocket);
        }

        if (volume is null)
        {
            await HostCleanup.ReleaseUnderAsync(_root, Namespace);
            Directory.Delete(_root, recursive: true);
        }
        else
        {
            await HostCleanup.ReleaseAndRemoveAsync(_root, volume, Namespace);
        }

        if (_startedHere)
        {
            await ScriptAsync("down", "--name", Name);
        }
    }

    private static async Task<ToolResult> ScriptAsync(params string[] args)
    {
        return await ToolProcess.RunAsync(Path.Combine(EndToEnd.DockerTlsTests.RepoRoot(), "deploy", "dev-docker.sh"), args);
    }
}
