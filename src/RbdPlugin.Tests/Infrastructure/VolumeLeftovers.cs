namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// Removes what a test's volumes may have left in the dev cluster's default pool, whatever state the test ended in:
/// snapshots, the image, the index entry and the lease object. Best effort: each step may find nothing to do.
/// </summary>
internal static class VolumeLeftovers
{
    public static async Task RemoveAsync(params string[] volumes)
    {
        foreach (var volume in volumes)
        {
            var image = $"{DevCluster.Pool}/{volume}";
            await CephCli.RunAsync("rbd", "snap", "purge", "--no-progress", image);
            await CephCli.RunAsync("rbd", "rm", "--no-progress", image);
            await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rmomapkey", "rbd-plugin.volumes", volume);
            await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rm", $"rbd-plugin.lease.{volume}");
        }
    }
}
