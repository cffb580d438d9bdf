using System.Diagnostics;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// Last-resort cleanup for tests that crash daemons on purpose: unmount every mount under a test root (deepest
/// first), detach loop devices whose backing file lives there, so a second run starts clean.
/// </summary>
internal static class HostCleanup
{
    public static async Task ReleaseUnderAsync(string root)
    {
        var prefix = Path.TrimEndingDirectorySeparator(root) + "/";
        var mounts = File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' '))
            .Where(f => f[4].StartsWith(prefix, StringComparison.Ordinal)).Select(f => (Point: f[4], Source: f[^2]))
            .OrderByDescending(m => m.Point.Length).ToList();
        foreach (var (point, source) in mounts.Where(m => !m.Source.StartsWith("rbd-fuse", StringComparison.Ordinal)))
        {
            await RunAsync("umount", "-l", point);
            if (source.StartsWith("/dev/loop", StringComparison.Ordinal))
            {
                await RunAsync("losetup", "-d", source);
            }
        }

        foreach (var (point, _) in mounts)
        {
            await RunAsync("umount", "-l", point);
        }
    }

    private static async Task RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        await process.WaitForExitAsync();
    }
}
