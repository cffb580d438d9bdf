using System.Diagnostics;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>Runs the real rbd-plugin executable's runbook commands against the dev cluster.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement.Clone();
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(PluginProcess.Binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        (string Flag, string Value)[] defaults =
        [
            ("--ceph-conf", DevCluster.ConfPath), ("--ceph-id", DevCluster.ClientId), ("--keyring", DevCluster.KeyringPath),
            ("--pool", DevCluster.Pool), ("--allowed-pools", $"{DevCluster.Pool},{DevCluster.ExtraPool}"), ("--remove-action", "delete"),
        ];
        // A flag the caller gives (e.g. --remove-action trash, a broken --keyring) replaces the default.
        foreach (var arg in args.Concat(defaults.Where(d => !args.Contains(d.Flag)).SelectMany(d => new[] { d.Flag, d.Value })))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
