using System.Globalization;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// The real daemon (<c>rbd-plugin serve</c>, the Native AOT build) running in the kernel guest as one "host": its
/// own socket, state dir and mount root under /run/rbd-kernel-tests/NAME (guest memory), its log on the share so
/// this machine reads it directly. Started through the guest agent; Docker's requests reach it through curl on
/// its unix socket inside the guest, exactly as dockerd sends them (POST, no Content-Type). Optionally inside a
/// mount namespace of its own (<see cref="Namespace"/>), for two hosts in one guest.
/// </summary>
internal sealed class GuestPlugin : IPluginCalls, IAsyncDisposable
{
    private readonly KernelGuest _guest;
    private readonly string[] _extraArgs;
    private int? _pid;

    public GuestPlugin(KernelGuest guest, string name, string mapper, string hostId = "host-a", params string[] extraArgs)
    {
        _guest = guest;
        Name = name;
        Mapper = mapper;
        HostId = hostId;
        _extraArgs = extraArgs;
        Root = $"/run/rbd-kernel-tests/{name}";
        LogGuest = Path.Combine(guest.RunDirGuest, name, "plugin.log");
        LogHost = Path.Combine(guest.RunDirHost, name, "plugin.log");
        Directory.CreateDirectory(Path.GetDirectoryName(LogHost)!);
    }

    public string Name { get; }

    public string Mapper { get; }

    public string HostId { get; }

    public string Root { get; }

    public string Socket => $"{Root}/plugin.sock";

    public string StateDir => $"{Root}/state";

    public string MountRoot => $"{Root}/mounts";

    public string LogGuest { get; }

    public string LogHost { get; }

    /// <summary>A process whose mount namespace the daemon joins (nsenter -t PID -m), or null for the guest's own.</summary>
    public int? Namespace { get; init; }

    public int? Pid => _pid;

    public string MountpointOf(string volume) => $"{MountRoot}/{volume}";

    /// <summary>The log's lines so far (JSON, one event each).</summary>
    public IReadOnlyList<string> Log => File.Exists(LogHost) ? File.ReadAllLines(LogHost) : [];

    /// <summary>How often the daemon made a filesystem on the volume ("Made ext4 on ..." events).</summary>
    public int FormatCount(string volume) =>
        Log.Count(l => l.Contains("\"@m\":\"Made ", StringComparison.Ordinal) && l.Contains(volume, StringComparison.Ordinal));

    public IReadOnlyList<string> ServeArgs =>
    [
        KernelGuest.Daemon, "serve", "--socket", Socket, "--state-dir", StateDir, "--mount-root", MountRoot, "--host-id", HostId,
        "--ceph-conf", KernelGuest.CephConf, "--ceph-id", KernelGuest.ClientId, "--keyring", KernelGuest.Keyring,
        "--pool", KernelGuest.Pool, "--allowed-pools", $"{KernelGuest.Pool},{KernelGuest.ExtraPool}", "--mapper", Mapper,
        "--log-format", "json", "--remove-action", "delete", .. _extraArgs,
    ];

    /// <summary>Starts the daemon and waits until it answers Activate (it reconciles before it listens).</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        (await _guest.ExecAsync("mkdir", "-p", Root)).EnsureSuccess();
        string[] enter = Namespace is { } ns ? ["nsenter", "-t", ns.ToString(CultureInfo.InvariantCulture), "-m", "--"] : [];
        // sh only redirects: the daemon's argv goes through "$@", never through the script's text.
        _pid = await _guest.Agent.SpawnAsync(
            ["/bin/sh", "-c", "exec \"$@\" >>\"$RBD_TEST_LOG\" 2>&1", "sh", .. enter, .. ServeArgs],
            env: [$"RBD_TEST_LOG={LogGuest}"]);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            if (!await IsRunningAsync())
            {
                throw new InvalidOperationException($"rbd-plugin ({Mapper}) exited in the guest:\n{string.Join('\n', Log.TakeLast(40))}");
            }

            var (status, _) = await PostAsync("/Plugin.Activate", "", TimeSpan.FromSeconds(10));
            if (status == 200)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"rbd-plugin ({Mapper}) did not answer Activate in the guest:\n{string.Join('\n', Log.TakeLast(40))}");
            }

            await Task.Delay(500);
        }
    }

    public async Task<bool> IsRunningAsync() =>
        _pid is { } pid && (await _guest.ShAsync("""s=$(cat /proc/$1/stat 2>/dev/null) || exit 1; s=${s##*) }; [[ $s != Z* ]]""",
            pid.ToString(CultureInfo.InvariantCulture))).Succeeded;

    /// <summary>SIGKILL: no cleanup at all, as in a crash. Mounts, mappings and rbd-nbd daemons stay.</summary>
    public Task KillAsync() => SignalAsync("KILL");

    /// <summary>SIGTERM: a clean stop (volumes stay mounted: a restart is not a failover).</summary>
    public Task StopAsync() => SignalAsync("TERM");

    /// <summary>SIGSTOP / SIGCONT: the host freezes (a VM paused, a stalled kernel) and later wakes, its state intact.</summary>
    public async Task FreezeAsync(bool frozen)
    {
        var pid = _pid ?? throw new InvalidOperationException($"rbd-plugin {Name} is not running");
        (await _guest.ExecAsync("kill", frozen ? "-STOP" : "-CONT", pid.ToString(CultureInfo.InvariantCulture))).EnsureSuccess();
    }

    private async Task SignalAsync(string signal)
    {
        if (_pid is not { } pid)
        {
            return;
        }

        // The pid is sh's, which exec'd the daemon (or nsenter, which execs it too).
        await _guest.ExecAsync("kill", $"-{signal}", pid.ToString(CultureInfo.InvariantCulture));
        await KernelGuest.WaitUntilAsync(async () => !await IsRunningAsync(), TimeSpan.FromSeconds(30), $"rbd-plugin pid {pid} to end after SIG{signal}");
        _pid = null;
    }

    /// <summary>POSTs a body to the daemon's socket the way dockerd does; returns the HTTP status and the body.</summary>
    public async Task<(int Status, string Body)> PostAsync(string path, string body, TimeSpan? timeout = null)
    {
        var seconds = (timeout ?? TimeSpan.FromSeconds(150)).TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
        var result = await _guest.Agent.ExecAsync(
            ["curl", "-sS", "--max-time", seconds, "--unix-socket", Socket, "-H", "Accept: application/vnd.docker.plugins.v1.2+json",
                "-H", "Content-Type:", "--data-binary", "@-", "-w", "\n%{http_code}", $"http://plugin{path}"],
            (timeout ?? TimeSpan.FromSeconds(150)) + TimeSpan.FromSeconds(30), stdin: body);
        if (!result.Succeeded)
        {
            return (0, result.Stderr);
        }

        var split = result.Stdout.LastIndexOf('\n');
        return (int.Parse(result.Stdout[(split + 1)..].Trim(), CultureInfo.InvariantCulture), result.Stdout[..split]);
    }

    /// <summary>Posts a verb and returns the body; throws <see cref="PluginErrorException"/> with the Err when there is one.</summary>
    public async Task<JsonElement> CallAsync(string verb, object request)
    {
        var (status, text) = await PostAsync("/VolumeDriver." + verb, JsonSerializer.Serialize(request));
        if (status == 0)
        {
            throw new PluginErrorException(verb, 0, $"no answer from the daemon: {text}");
        }

        var body = JsonDocument.Parse(text).RootElement.Clone();
        var err = body.TryGetProperty("Err", out var e) ? e.GetString() : null;
        return !string.IsNullOrEmpty(err) || status != 200 ? throw new PluginErrorException(verb, status, err ?? "") : body;
    }

    /// <summary>The runbook CLI (the same binary) in the guest as this host: its admin socket, the guest cluster.</summary>
    public Task<GuestResult> CliAsync(params string[] args) => CephCliAsync([.. args, "--state-dir", StateDir]);

    /// <summary>A CLI command that talks to Ceph only (no --state-dir: `backup restore`, `volume create`...), as this host.</summary>
    public Task<GuestResult> CephCliAsync(params string[] args)
    {
        string[] enter = Namespace is { } ns ? ["nsenter", "-t", ns.ToString(CultureInfo.InvariantCulture), "-m", "--"] : [];
        return _guest.Agent.ExecAsync(
        [
            .. enter, KernelGuest.Daemon, .. args, "--host-id", HostId,
            "--ceph-conf", KernelGuest.CephConf, "--ceph-id", KernelGuest.ClientId, "--keyring", KernelGuest.Keyring,
            "--pool", KernelGuest.Pool, "--allowed-pools", $"{KernelGuest.Pool},{KernelGuest.ExtraPool}", "--remove-action", "delete",
        ], TimeSpan.FromSeconds(180));
    }

    /// <summary>
    /// Kills the daemon and leaves nothing of this host in the guest: every mount under its root (lazily) and its
    /// directories. The volumes' mappings and images are the test's to remove (<see cref="KernelGuest.RemoveVolumesAsync"/>).
    /// </summary>
    public async Task CleanUpAsync()
    {
        await KillAsync();
        string[] enter = Namespace is { } ns ? ["nsenter", "-t", ns.ToString(CultureInfo.InvariantCulture), "-m", "--"] : [];
        await _guest.Agent.ExecAsync([.. enter, "/bin/bash", "-c", """
            findmnt -rn -o TARGET | grep -F "$1/" | sort -r | while read -r m; do umount -l "$m" || true; done
            rm -rf --one-file-system "$1"
            true
            """, "cleanup", Root]);
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
