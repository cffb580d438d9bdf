using System.Diagnostics;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// The real daemon (the published Native AOT binary named by RBD_TEST_DAEMON, as deploy/test.sh sets it; else the
/// rbd-plugin executable next to the tests) as a child process, against the dev cluster, with
/// its own socket, state dir and mount root under a temp directory — one "host". Its log lines are kept for asserts.
/// </summary>
internal sealed class PluginProcess : IAsyncDisposable
{
    private readonly List<string> _log = [];
    private Process? _process;

    public PluginProcess(string root, string hostId = "host-a", params string[] extraArgs)
    {
        Root = root;
        Socket = Path.Combine(root, "plugin.sock");
        HostId = hostId;
        ExtraArgs = extraArgs;
        Directory.CreateDirectory(root);
    }

    public string Root { get; }
    public string HostId { get; }
    public IReadOnlyList<string> ExtraArgs { get; }
    /// <summary>The unix socket; "" = none (then give --tcp-listen in the extra arguments).</summary>
    public string Socket { get; init; }
    /// <summary>--log-format: json (default; <see cref="Log"/> lines parse as JSON) or text.</summary>
    public string LogFormat { get; init; } = "json";
    /// <summary>A program and its arguments that run the daemon (e.g. setpriv dropping a capability); none by default.</summary>
    public IReadOnlyList<string> Launcher { get; init; } = [];
    /// <summary>The host's own mount namespace, when it has one: the daemon starts (and restarts) inside it.</summary>
    public HostNamespace? Namespace { get; init; }
    public string StateDir => Path.Combine(Root, "state");
    public string AdminSocket => Path.Combine(StateDir, "admin.sock");
    public string MountRoot => Path.Combine(Root, "mounts");
    public int? Pid => _process?.HasExited == false ? _process.Id : null;

    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToList();
            }
        }
    }

    /// <summary>The executable the tests run: what ships (deploy/publish.sh) when RBD_TEST_DAEMON names it.</summary>
    public static string Binary { get; } = Environment.GetEnvironmentVariable("RBD_TEST_DAEMON") is { Length: > 0 } published
        ? published
        : Path.Combine(AppContext.BaseDirectory, "rbd-plugin");

    public PluginClient Client() => new(Socket);

    public async Task StartAsync()
    {
        IEnumerable<string> argv = [.. Launcher, Binary];
        if (Namespace is not null)
        {
            argv = Namespace.Enter(argv);
        }

        var args = argv.Skip(1).Concat(
        [
            "serve", "--socket", Socket, "--state-dir", StateDir, "--mount-root", MountRoot, "--host-id", HostId,
            "--ceph-conf", DevCluster.ConfPath, "--ceph-id", DevCluster.ClientId, "--keyring", DevCluster.KeyringPath,
            "--pool", DevCluster.Pool, "--allowed-pools", $"{DevCluster.Pool},{DevCluster.ExtraPool}", "--mapper", "fuse", "--log-format", LogFormat,
            "--remove-action", "delete",
        ]).Concat(ExtraArgs);

        _process = ToolProcess.Start(argv.First(), args);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();

        await WaitUntilServingAsync();
    }

    private async Task WaitUntilServingAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        if (Socket.Length == 0)
        {
            while (!Log.Any(l => l.Contains("Now listening on", StringComparison.Ordinal)))
            {
                ThrowIfExited();
                await Task.Delay(50);
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"rbd-plugin did not start listening:\n{string.Join('\n', Log)}");
                }
            }

            return;
        }

        using var client = Client();
        while (true)
        {
            ThrowIfExited();

            try
            {
                var (status, _) = await client.PostAsync("/Plugin.Activate", null);
                if (status == 200)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            await Task.Delay(50);
        }
    }

    private void ThrowIfExited()
    {
        if (_process!.HasExited)
        {
            throw new InvalidOperationException($"rbd-plugin exited with {_process.ExitCode}:\n{string.Join('\n', Log)}");
        }
    }

    /// <summary>SIGKILL: no cleanup at all, as in a crash.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM and wait: a clean stop (volumes stay mounted: a restart is not a failover).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.Add(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}

