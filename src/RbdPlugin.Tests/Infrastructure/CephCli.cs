using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>The real rbd/rados/ceph tools, run as the plugin's client (or admin), to cross-check what the native
/// control plane did. Arguments go through ArgumentList: no shell.</summary>
internal static class CephCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public Result EnsureSuccess(string what) =>
            ExitCode == 0 ? this : throw new InvalidOperationException($"{what} exited {ExitCode}: {Stderr}");

        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement.Clone();

        /// <summary>The first of several JSON documents printed back to back (`ceph osd blocklist ls` prints the
        /// address list, then the range list).</summary>
        public JsonElement FirstJson
        {
            get
            {
                var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(Stdout), new JsonReaderOptions { AllowMultipleValues = true });
                using var document = JsonDocument.ParseValue(ref reader);
                return document.RootElement.Clone();
            }
        }
    }

    /// <summary>Runs TOOL -c CONF --id ID --keyring KEYRING ARGS...</summary>
    public static Task<Result> RunAsync(string tool, params string[] args) =>
        RunRawAsync(tool, ["-c", DevCluster.ConfPath, "--id", DevCluster.ClientId, "--keyring", DevCluster.KeyringPath, .. args]);

    /// <summary>Runs TOOL as client.admin (keyring from ceph.conf) for what client.docker may not do.</summary>
    public static Task<Result> RunAdminAsync(string tool, params string[] args) =>
        RunRawAsync(tool, ["-c", DevCluster.ConfPath, "--id", "admin", .. args]);

    public static async Task<Result> RunRawAsync(string tool, IEnumerable<string> args)
    {
        using var process = Start(tool, args, redirectStdin: false);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-running tool (e.g. <c>rbd watch</c>) as the plugin's client; the caller stops it.</summary>
    public static Process StartLongRunning(string tool, params string[] args) =>
        Start(tool, ["-c", DevCluster.ConfPath, "--id", DevCluster.ClientId, "--keyring", DevCluster.KeyringPath, .. args], redirectStdin: true);

    private static Process Start(string tool, IEnumerable<string> args, bool redirectStdin)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
        };
        // dev-cluster.sh env exports CEPH_ARGS='--id docker', which the tools append to argv: it would override our --id.
        info.Environment.Remove("CEPH_ARGS");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
    }
}
