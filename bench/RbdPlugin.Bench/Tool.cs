using System.Diagnostics;
using System.Text;

namespace RbdPlugin.Bench;

/// <summary>The result of one external command, with its wall-clock time from spawn to exit.</summary>
internal sealed record ToolResult(int ExitCode, string Stdout, string Stderr, double Ms);

/// <summary>
/// Runs the baselines and helpers as processes: argument arrays (never a shell), stdin closed, LC_ALL=C, the Ceph
/// client identity in CEPH_ARGS (as the plugin hands it to rbd-fuse). The timing is spawn to exit, which is what a
/// script that calls the CLI pays.
/// </summary>
internal static class Tool
{
    /// <summary>CEPH_CONF / CEPH_ARGS for every process that talks to the cluster.</summary>
    public static Dictionary<string, string> CephEnv { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs PROGRAM; with cephEnv, CEPH_CONF/CEPH_ARGS from <see cref="CephEnv"/>, CEPH_ARGS with extraCephArgs appended.</summary>
    public static async Task<ToolResult> TryRunAsync(string program, IEnumerable<string> args, TimeSpan? timeout = null,
        bool cephEnv = true, string extraCephArgs = "")
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["LC_ALL"] = "C";
        // Nothing inherited decides who a tool talks to Ceph as: the caller's CEPH_ARGS would override --id.
        start.Environment.Remove("CEPH_ARGS");
        start.Environment.Remove("CEPH_CONF");
        if (cephEnv)
        {
            foreach (var (k, v) in CephEnv)
            {
                start.Environment[k] = k == "CEPH_ARGS" && extraCephArgs.Length > 0 ? $"{v} {extraCephArgs}" : v;
            }
        }

        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Line(program, args)} did not finish within {(timeout ?? TimeSpan.FromMinutes(3)).TotalSeconds} s");
        }

        sw.Stop();
        return new ToolResult(process.ExitCode, await stdout, await stderr, sw.Elapsed.TotalMilliseconds);
    }

    public static async Task<ToolResult> RunAsync(string program, IEnumerable<string> args, TimeSpan? timeout = null,
        bool cephEnv = true, string extraCephArgs = "")
    {
        var list = args.ToList();
        var result = await TryRunAsync(program, list, timeout, cephEnv, extraCephArgs);
        return result.ExitCode == 0
            ? result
            : throw new InvalidOperationException(
                $"`{Line(program, list)}` exited {result.ExitCode}: {Trim(result.Stderr)} {Trim(result.Stdout)}".Trim());
    }

    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Any(dir => File.Exists(Path.Combine(dir, program)));

    public static string Line(string program, IEnumerable<string> args) =>
        new StringBuilder(program).AppendJoin("", args.Select(a => " " + a)).ToString();

    private static string Trim(string s) => s.Length <= 400 ? s.Trim() : s[..400].Trim() + "...";
}
