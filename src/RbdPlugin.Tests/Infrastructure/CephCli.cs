using System.Diagnostics;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>The real rbd/rados/ceph tools, run as the plugin's client (or admin), to cross-check what the native
/// control plane did. Arguments go through ArgumentList: no shell.</summary>
internal static class CephCli
{
    /// <summary>Runs TOOL -c CONF --id ID --keyring KEYRING ARGS...</summary>
    public static Task<ToolResult> RunAsync(string tool, params string[] args) =>
        RunRawAsync(tool, ["-c", DevCluster.ConfPath, "--id", DevCluster.ClientId, "--keyring", DevCluster.KeyringPath, .. args]);

    /// <summary>Runs TOOL as client.admin (keyring from ceph.conf) for what client.docker may not do.</summary>
    public static Task<ToolResult> RunAdminAsync(string tool, params string[] args) =>
        RunRawAsync(tool, ["-c", DevCluster.ConfPath, "--id", "admin", .. args]);

    public static Task<ToolResult> RunRawAsync(string tool, IEnumerable<string> args) =>
        ToolProcess.RunAsync(tool, args, TimeSpan.FromSeconds(60), withoutCephArgs: true);

    /// <summary>Starts a long-running tool (e.g. <c>rbd watch</c>) as the plugin's client; the caller stops it.</summary>
    public static Process StartLongRunning(string tool, params string[] args) =>
        ToolProcess.Start(tool, ["-c", DevCluster.ConfPath, "--id", DevCluster.ClientId, "--keyring", DevCluster.KeyringPath, .. args],
            redirectStdin: true, withoutCephArgs: true);
}
