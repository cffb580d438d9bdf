using System.Diagnostics;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// A named second Docker engine from <c>deploy/dev-docker.sh up --name NAME</c>: its own mount namespace, data-root,
/// exec-root, API socket and plugin directory — another host on this machine. Started here only if it was not
/// running, and then stopped again at the end; a plugin for it listens in its plugin directory.
/// </summary>
internal sealed class DevEngine : IAsyncDisposable
{
    private bool _startedHere;

    private DevEngine(string name) => Name = name;

    public string Name { get; }

    public string Host => $"unix:///run/rbd-plugin-dev-{Name}/docker.sock";

    /// <summary>Where this engine looks for plugins (/run/docker/plugins inside its namespace), seen from outside.</summary>
    public string PluginSocket => $"/run/rbd-plugin-dev-{Name}/plugins/rbd.sock";

    /// <summary>The engine's mount namespace (held across dockerd restarts).</summary>
    public HostNamespace Namespace => HostNamespace.OfEngine(Name);

    public static async Task<DevEngine> UpAsync(string name)
    {
        var engine = new DevEngine(name);
        engine._startedHere = (await ScriptAsync("status", "--name", name)).ExitCode != 0;
        var up = await ScriptAsync("up", "--name", name);
        if (up.ExitCode != 0)
        {
            throw new InvalidOperationException($"dev-docker.sh up --name {name} exited {up.ExitCode}: {up.Stderr}");
        }

        return engine;
    }

    /// <summary>docker -H ENGINE ARGS.</summary>
    public Task<DockerCli.Result> DockerAsync(params string[] args) => DockerCli.RunAsync(["-H", Host, .. args]);

    /// <summary>dockerd stops (SIGTERM) or dies (SIGKILL) and starts again in the same namespace.</summary>
    public async Task RestartAsync(bool kill)
    {
        var result = await ScriptAsync(["restart", "--name", Name, .. kill ? new[] { "--kill" } : []]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dev-docker.sh restart --name {Name} exited {result.ExitCode}: {result.Stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_startedHere)
        {
            await ScriptAsync("down", "--name", Name);
        }
    }

    private static async Task<DockerCli.Result> ScriptAsync(params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(EndToEnd.DockerTlsTests.RepoRoot(), "deploy", "dev-docker.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return new DockerCli.Result(process.ExitCode, await stdout, await stderr);
    }
}
