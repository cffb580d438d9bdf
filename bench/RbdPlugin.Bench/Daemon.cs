using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace RbdPlugin.Bench;

/// <summary>The Ceph identity and pool the daemon and the baselines use.</summary>
internal sealed record CephTarget(string Conf, string Id, string Keyring, string Pool);

/// <summary>
/// One rbd-plugin serve process of the benchmark's own: its socket, state dir and mount root under the work dir,
/// the fuse mapper, remove action delete, no unmount grace. Its output goes to WORK/daemon.log. Its PID is written
/// to WORK/daemon.pid so a cleanup after a crash of the harness can stop it.
/// </summary>
internal sealed class Daemon : IAsyncDisposable
{
    private readonly string _binary;
    private readonly CephTarget _ceph;
    private readonly StreamWriter _log;
    private Process? _process;

    public Daemon(string binary, string work, CephTarget ceph, string hostId)
    {
        _binary = binary;
        _ceph = ceph;
        Work = work;
        HostId = hostId;
        Directory.CreateDirectory(work);
        _log = new StreamWriter(Path.Combine(work, "daemon.log"), append: true) { AutoFlush = true };
    }

    public string Work { get; }
    public string HostId { get; }
    public string Socket => Path.Combine(Work, "plugin.sock");
    public string StateDir => Path.Combine(Work, "state");
    public string MountRoot => Path.Combine(Work, "mounts");
    public string PidFile => Path.Combine(Work, "daemon.pid");
    public int Pid => _process?.Id ?? 0;

    /// <summary>
    /// Runs a runbook command (`rbd-plugin volume limit ...`) of the same binary as this daemon's host: its Ceph
    /// identity, pool, host id and state dir.
    /// </summary>
    public Task<ToolResult> CliAsync(params string[] args) => Tool.RunAsync(_binary,
        [
            .. args, "--state-dir", StateDir, "--host-id", HostId, "--ceph-conf", _ceph.Conf, "--ceph-id", _ceph.Id,
            "--keyring", _ceph.Keyring, "--pool", _ceph.Pool, "--allowed-pools", _ceph.Pool,
        ], TimeSpan.FromSeconds(60), cephEnv: false);

    /// <summary>Starts the daemon and returns the time from spawn until /Plugin.Activate answers 200.</summary>
    public async Task<double> StartAsync()
    {
        // An empty working directory: the daemon watches its content root (the working directory) recursively
        // (docs/benchmarks.md), so the harness's own directory must not leak into the figures.
        var cwd = Path.Combine(Work, "cwd");
        Directory.CreateDirectory(cwd);
        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = cwd,
        };
        foreach (var arg in new[]
                 {
                     "serve", "--socket", Socket, "--state-dir", StateDir, "--mount-root", MountRoot, "--host-id", HostId,
                     "--ceph-conf", _ceph.Conf, "--ceph-id", _ceph.Id, "--keyring", _ceph.Keyring,
                     "--pool", _ceph.Pool, "--allowed-pools", _ceph.Pool,
                     "--mapper", "fuse", "--remove-action", "delete", "--unmount-grace", "0s",
                     // No container ever bind-mounts the bench's volumes: without this, one held for the minutes the
                     // I/O rows take would be released under them as a volume Docker forgot.
                     "--unused-mount-timeout", "0s",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        // The daemon reads its settings from flags only: no RBD_PLUGIN_* or CEPH_* from the caller's environment.
        foreach (var key in start.Environment.Keys
                     .Where(k => k.StartsWith("RBD_PLUGIN_", StringComparison.Ordinal) || k is "CEPH_ARGS" or "CEPH_CONF").ToList())
        {
            start.Environment.Remove(key);
        }

        var sw = Stopwatch.StartNew();
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_binary}");
        await File.WriteAllTextAsync(PidFile, _process.Id.ToString(CultureInfo.InvariantCulture));
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var probe = new TimedPlugin(Socket);
        var deadline = TimeSpan.FromSeconds(60);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"rbd-plugin exited with {_process.ExitCode} before serving; see {Path.Combine(Work, "daemon.log")}");
            }

            try
            {
                var reply = await probe.PostAsync("/Plugin.Activate", "");
                if (reply.Status == 200)
                {
                    return sw.Elapsed.TotalMilliseconds;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (SocketException)
            {
                // Not listening yet.
            }

            if (sw.Elapsed > deadline)
            {
                throw new TimeoutException($"rbd-plugin did not serve within {deadline.TotalSeconds} s");
            }

            await Task.Delay(2);
        }
    }

    /// <summary>SIGTERM and wait (a clean stop; volumes stay mounted, as in production).</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } p)
        {
            return;
        }

        await Tool.TryRunAsync("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)], cephEnv: false);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }

        File.Delete(PidFile);
    }

    /// <summary>VmRSS and VmHWM from /proc/PID/status, in MiB.</summary>
    public (double Rss, double Hwm) Memory()
    {
        double rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line) / 1024.0;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kb(line) / 1024.0;
            }
        }

        return (rss, hwm);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        await _log.DisposeAsync();
    }

    private static double Kb(string line) =>
        double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }
    }
}
