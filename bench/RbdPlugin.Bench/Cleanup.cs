using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RbdPlugin.Bench;

/// <summary>A line of /proc/self/mountinfo: mountpoint, filesystem type, source.</summary>
internal sealed record MountLine(string MountPoint, string FsType, string Source);

/// <summary>
/// Puts the host back as it was, whatever state a run died in: the daemon (by the PID it recorded, checked against
/// its command line), then every mount under the work dir (filesystems first), the loop devices whose backing file
/// is under it, the rbd-fuse mounts under it (their rbd-fuse processes exit with them), and finally the work dir.
/// The pool and the client the run created are deleted by <see cref="BenchCluster"/>.
/// </summary>
internal static class Cleanup
{
    public static IReadOnlyList<MountLine> Mounts()
    {
        var result = new List<MountLine>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0)
            {
                continue;
            }

            var head = line[..dash].Split(' ');
            var tail = line[(dash + 3)..].Split(' ');
            if (head.Length < 5 || tail.Length < 2)
            {
                continue;
            }

            result.Add(new MountLine(Unescape(head[4]), tail[0], Unescape(tail[1])));
        }

        return result;
    }

    public static bool IsMounted(string path) => Mounts().Any(m => m.MountPoint == path);

    public static async Task<List<string>> SweepHostAsync(string work)
    {
        var problems = new List<string>();
        work = Path.GetFullPath(work).TrimEnd('/');
        var under = work + "/";
        await StopRecordedDaemonAsync(Path.Combine(work, "daemon.pid"), under, problems);

        // Filesystems on loop devices first, deepest first.
        foreach (var m in Mounts().Where(m => m.MountPoint.StartsWith(under, StringComparison.Ordinal) && !IsFuse(m))
                     .OrderByDescending(m => m.MountPoint.Length))
        {
            await Try(problems, "umount", ["-l", m.MountPoint]);
        }

        foreach (var loop in await LoopsAsync())
        {
            if (loop.BackFile.StartsWith(under, StringComparison.Ordinal))
            {
                await Try(problems, "losetup", ["-d", loop.Device]);
            }
        }

        foreach (var m in Mounts().Where(m => m.MountPoint.StartsWith(under, StringComparison.Ordinal) && IsFuse(m)))
        {
            var done = false;
            for (var i = 0; i < 50 && !done; i++)
            {
                var r = await Tool.TryRunAsync("umount", [m.MountPoint], cephEnv: false);
                done = r.ExitCode == 0 || r.Stderr.Contains("not mounted", StringComparison.Ordinal);
                if (!done)
                {
                    await Task.Delay(100);
                }
            }

            if (!done)
            {
                await Try(problems, "umount", ["-l", m.MountPoint]);
            }
        }

        if (Mounts().Any(m => m.MountPoint.StartsWith(under, StringComparison.Ordinal)))
        {
            problems.Add($"mounts remain under {work}; left it in place");
        }
        else if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        return problems;
    }

    private static async Task StopRecordedDaemonAsync(string pidFile, string under, List<string> problems)
    {
        if (!File.Exists(pidFile) || !int.TryParse(await File.ReadAllTextAsync(pidFile), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        // Only our daemon: a reused PID would have another command line.
        var cmdline = File.Exists($"/proc/{pid}/cmdline") ? (await File.ReadAllTextAsync($"/proc/{pid}/cmdline")).Replace('\0', ' ') : "";
        if (!cmdline.Contains("serve", StringComparison.Ordinal) || !cmdline.Contains(under, StringComparison.Ordinal))
        {
            return;
        }

        var id = pid.ToString(CultureInfo.InvariantCulture);
        await Tool.TryRunAsync("kill", ["-TERM", id], cephEnv: false);
        for (var i = 0; i < 200 && Directory.Exists($"/proc/{pid}"); i++)
        {
            await Task.Delay(50);
        }

        if (Directory.Exists($"/proc/{pid}"))
        {
            await Try(problems, "kill", ["-KILL", id]);
        }
    }

    internal sealed record Loop(string Device, string BackFile);

    public static async Task<List<Loop>> LoopsAsync()
    {
        var r = await Tool.TryRunAsync("losetup", ["--list", "--json", "--output", "NAME,BACK-FILE"], cephEnv: false);
        var loops = new List<Loop>();
        if (r.ExitCode != 0 || r.Stdout.Trim().Length == 0)
        {
            return loops;
        }

        using var doc = JsonDocument.Parse(r.Stdout);
        foreach (var d in doc.RootElement.GetProperty("loopdevices").EnumerateArray())
        {
            var back = d.TryGetProperty("back-file", out var b) ? b.GetString() ?? "" : "";
            loops.Add(new Loop(d.GetProperty("name").GetString() ?? "", back.Replace(" (deleted)", "", StringComparison.Ordinal)));
        }

        return loops;
    }

    private static bool IsFuse(MountLine m) => m.FsType == "fuse" || m.FsType.StartsWith("fuse.", StringComparison.Ordinal);

    private static async Task Try(List<string> problems, string program, string[] args)
    {
        var r = await Tool.TryRunAsync(program, args, cephEnv: false);
        if (r.ExitCode != 0)
        {
            problems.Add($"{Tool.Line(program, args)}: {r.Stderr.Trim()}");
        }
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }

        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }

        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s.Skip(at).Take(3).All(c => c is >= '0' and <= '7');
}

/// <summary>
/// The benchmark's own pool and cephx client (profile rbd on that pool only), made with the dev cluster's admin
/// identity and deleted at the end. An own pool keeps List and `rbd ls` to exactly the volumes a row made, whatever
/// the tests running beside it put in the shared pools. Only pools named rbd-bench-* are ever deleted.
/// </summary>
internal static class BenchCluster
{
    public const string Prefix = "rbd-bench-";

    public static async Task<CephTarget> CreateAsync(string conf, string adminId, string pool, string work)
    {
        Guard(pool);
        string[] admin = ["-c", conf, "--id", adminId];
        await Tool.RunAsync("ceph", [.. admin, "osd", "pool", "create", pool, "8", "8"], cephEnv: false);
        await Tool.RunAsync("rbd", [.. admin, "pool", "init", pool], cephEnv: false);
        var keyring = Path.Combine(work, $"ceph.client.{pool}.keyring");
        var key = await Tool.RunAsync("ceph", [.. admin, "auth", "get-or-create", $"client.{pool}",
            "mon", "profile rbd", "osd", $"profile rbd pool={pool}"], cephEnv: false);
        await File.WriteAllTextAsync(keyring, "");
        File.SetUnixFileMode(keyring, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(keyring, key.Stdout);
        return new CephTarget(conf, pool, keyring, pool);
    }

    public static async Task<List<string>> DeleteAsync(string conf, string adminId, string pool)
    {
        Guard(pool);
        var problems = new List<string>();
        string[] admin = ["-c", conf, "--id", adminId];
        var ls = await Tool.TryRunAsync("ceph", [.. admin, "osd", "pool", "ls"], cephEnv: false);
        if (ls.Stdout.Split('\n').Any(l => l.Trim() == pool))
        {
            var r = await Tool.TryRunAsync("ceph", [.. admin, "osd", "pool", "delete", pool, pool, "--yes-i-really-really-mean-it"], cephEnv: false);
            if (r.ExitCode != 0)
            {
                problems.Add($"pool delete {pool}: {r.Stderr.Trim()}");
            }
        }

        var auth = await Tool.TryRunAsync("ceph", [.. admin, "auth", "del", $"client.{pool}"], cephEnv: false);
        if (auth.ExitCode != 0 && !auth.Stderr.Contains("does not exist", StringComparison.Ordinal))
        {
            problems.Add($"auth del client.{pool}: {auth.Stderr.Trim()}");
        }

        return problems;
    }

    private static void Guard(string pool)
    {
        if (!pool.StartsWith(Prefix, StringComparison.Ordinal) || pool.Length > 60 || pool.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            throw new ArgumentException($"the benchmark only makes and deletes pools named {Prefix}*: '{pool}'");
        }
    }
}
