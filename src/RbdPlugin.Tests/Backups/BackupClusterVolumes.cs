using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Backups;

/// <summary>What the backup cluster tests do to volumes with the real tools: write data, look at snapshots, clean up.</summary>
internal static class BackupClusterVolumes
{
    /// <summary>Random-offset 64K writes of one random byte value per run (`rbd bench`), TOTAL bytes in all.</summary>
    public static async Task WriteRandomAsync(string volume, string total) =>
        (await CephCli.RunAsync("rbd", "bench", "--io-type", "write", "--io-size", "64K", "--io-total", total, "--io-pattern", "rand",
            $"{DevCluster.Pool}/{volume}")).EnsureSuccess("rbd bench");

    public static async Task<List<string>> SnapshotsAsync(string volume) =>
        [.. (await CephCli.RunAsync("rbd", "snap", "ls", "--format", "json", $"{DevCluster.Pool}/{volume}")).EnsureSuccess("rbd snap ls")
            .Json.EnumerateArray().Select(s => s.GetProperty("name").GetString()!)];

    /// <summary>The volume's entry in the plugin's index (the VolumeRecord JSON).</summary>
    public static async Task<JsonElement> RecordAsync(string volume)
    {
        var file = Path.GetTempFileName();
        try
        {
            (await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "getomapval", "rbd-plugin.volumes", volume, file)).EnsureSuccess("rados getomapval");
            return JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement.Clone();
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Whether an image of that name exists at all (a refused restore must not leave one).</summary>
    public static async Task<bool> ImageExistsAsync(string volume) =>
        (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{volume}")).ExitCode == 0;

    public static Task RemoveAsync(string volume) => VolumeLeftovers.RemoveAsync(volume);
}
