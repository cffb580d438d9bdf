using System.Diagnostics;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// Last-resort cleanup for tests that crash daemons on purpose: unmount every mount under a test root (deepest
/// first), detach loop devices whose backing file lives there, and end the rbd-fuse processes the daemons under test
/// started there (a fenced rbd-fuse hangs instead of exiting), so a second run starts clean. With a host namespace,
/// its mounts are read and unmounted inside it (loop devices and processes are host-wide either way).
/// </summary>
internal static class HostCleanup
{
    /// <summary>
    /// The end of a daemon test: what is left under <paramref name="root"/> released (inside the host's namespace,
    /// if it has one), the volume's image and lease object removed from the dev cluster (whether or not they exist),
    /// the directory deleted.
    /// </summary>
    public static async Task ReleaseAndRemoveAsync(string root, string volume, HostNamespace? host = null)
    {
        await ReleaseUnderAsync(root, host);
        await CephCli.RunAsync("rbd", "rm", $"{DevCluster.Pool}/{volume}");
        await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rm", $"rbd-plugin.lease.{volume}");
        Directory.Delete(root, recursive: true);
    }

    public static async Task ReleaseUnderAsync(string root, HostNamespace? host = null)
    {
        var prefix = Path.TrimEndingDirectorySeparator(root) + "/";
        var mountInfo = host is null ? "/proc/self/mountinfo" : $"/proc/{host.Pid}/mountinfo";
        var umount = (string point) => host is null ? RunAsync("umount", "-l", point) : RunAsync(host.Enter(["umount", "-l", point]));
        var mounts = File.ReadAllLines(mountInfo).Select(l => l.Split(' '))
            .Where(f => f[4].StartsWith(prefix, StringComparison.Ordinal)).Select(f => (Point: f[4], Source: f[^2]))
            .OrderByDescending(m => m.Point.Length).ToList();
        foreach (var loop in LoopsBackedUnder(prefix))
        {
            await RunAsync("losetup", "-d", loop);
        }

        foreach (var (point, source) in mounts.Where(m => !m.Source.StartsWith("rbd-fuse", StringComparison.Ordinal)))
        {
            await umount(point);
            if (source.StartsWith("/dev/loop", StringComparison.Ordinal))
            {
                await RunAsync("losetup", "-d", source);
            }
        }

        foreach (var (point, _) in mounts)
        {
            await umount(point);
        }

        foreach (var pid in FuseProcessesUnder(prefix))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or TimeoutException)
            {
                // Already gone, or stuck in the kernel until its mount is released: nothing more to do here.
            }
        }
    }

    /// <summary>Loop devices (from /sys/block) whose backing file is under the prefix.</summary>
    public static List<string> LoopsBackedUnder(string prefix) =>
        Directory.EnumerateDirectories("/sys/block", "loop*")
            .Where(d => File.Exists(Path.Combine(d, "loop", "backing_file"))
                && File.ReadAllText(Path.Combine(d, "loop", "backing_file")).Trim().StartsWith(prefix, StringComparison.Ordinal))
            .Select(d => "/dev/" + Path.GetFileName(d))
            .ToList();

    /// <summary>rbd-fuse processes whose command line names a directory under the prefix.</summary>
    public static List<int> FuseProcessesUnder(string prefix) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => (Pid: int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0, Dir: d))
            .Where(p => p.Pid > 0)
            .Where(p =>
            {
                try
                {
                    var argv = File.ReadAllText(Path.Combine(p.Dir, "cmdline")).Split('\0');
                    return argv.Length > 0 && argv[0].EndsWith("rbd-fuse", StringComparison.Ordinal)
                        && argv.Any(a => a.StartsWith(prefix, StringComparison.Ordinal));
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .Select(p => p.Pid)
            .ToList();

    private static Task<ToolResult> RunAsync(string program, params string[] args) => RunAsync([program, .. args]);

    private static Task<ToolResult> RunAsync(IReadOnlyList<string> argv) => ToolProcess.RunAsync(argv[0], argv.Skip(1));
}
