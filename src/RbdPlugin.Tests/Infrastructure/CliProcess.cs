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
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "rbd-plugin"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in args.Concat([
                     "--ceph-conf", DevCluster.ConfPath, "--ceph-id", DevCluster.ClientId, "--keyring", DevCluster.KeyringPath,
                     "--pool", DevCluster.Pool, "--allowed-pools", $"{DevCluster.Pool},{DevCluster.ExtraPool}", "--remove-action", "delete",
                 ]))
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
