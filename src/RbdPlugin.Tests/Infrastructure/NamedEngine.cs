namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// A Docker engine of its own for one test class: <c>deploy/dev-docker.sh up --name NAME</c> (own mount namespace,
/// data-root, exec-root, API socket and plugin directories), with no plugin started for it. Never the dev engine
/// the other Docker-tier tests share, so what is installed into it (a managed plugin) is seen by nobody else.
/// </summary>
internal sealed class NamedEngine : IAsyncDisposable
{
    private NamedEngine(string name) => Name = name;

    public string Name { get; }

    public string Host => $"unix:///run/rbd-plugin-dev-{Name}/docker.sock";

    /// <summary>Where this engine reads .spec/.json plugin files (/etc/docker/plugins inside its namespace), seen from outside.</summary>
    public string PluginSpecDirectory => $"/var/lib/rbd-plugin-dev/{Name}/etc-docker-plugins";

    /// <summary>dockerd's log: a managed plugin's output lands here, one line per plugin line, tagged plugin=ID.</summary>
    public string LogPath => $"/var/log/rbd-plugin-dev-{Name}.log";

    public static async Task<NamedEngine> UpAsync(string name)
    {
        var engine = new NamedEngine(name);
        (await ScriptAsync("up", "--name", name)).EnsureSuccess($"dev-docker.sh up --name {name}");
        return engine;
    }

    /// <summary>docker -H ENGINE ARGS.</summary>
    public Task<ToolResult> DockerAsync(params string[] args) => DockerCli.RunAsync(["-H", Host, .. args]);

    /// <summary>How long the log is now: read what came after with <see cref="LogSince"/>.</summary>
    public long LogLength => new FileInfo(LogPath).Length;

    public string LogSince(long offset)
    {
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        return new StreamReader(stream).ReadToEnd();
    }

    public async ValueTask DisposeAsync() => await ScriptAsync("down", "--name", Name);

    public static Task<ToolResult> ScriptAsync(params string[] args) =>
        ToolProcess.RunAsync(Path.Combine(EndToEnd.DockerTlsTests.RepoRoot(), "deploy", "dev-docker.sh"), args);
}
