namespace RbdPlugin.Tests.Infrastructure;

/// <summary>Runs the real rbd-plugin executable's runbook commands against the dev cluster.</summary>
internal static class CliProcess
{
    public static Task<ToolResult> RunAsync(params string[] args)
    {
        (string Flag, string Value)[] defaults =
        [
            ("--ceph-conf", DevCluster.ConfPath), ("--ceph-id", DevCluster.ClientId), ("--keyring", DevCluster.KeyringPath),
            ("--pool", DevCluster.Pool), ("--allowed-pools", $"{DevCluster.Pool},{DevCluster.ExtraPool}"), ("--remove-action", "delete"),
        ];
        // A flag the caller gives (e.g. --remove-action trash, a broken --keyring) replaces the default.
        return ToolProcess.RunAsync(PluginProcess.Binary, args.Concat(defaults.Where(d => !args.Contains(d.Flag)).SelectMany(d => new[] { d.Flag, d.Value })),
            TimeSpan.FromSeconds(60));
    }
}
