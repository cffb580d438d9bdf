namespace RbdPlugin.Ceph;

internal static class WatcherQueries
{
    /// <summary>Clients watching the image; none when the image is gone (ENOENT).</summary>
    public static async Task<IReadOnlyList<Watcher>> ListWatchersOrNoneAsync(this ICephCluster ceph, ImageRef image, CancellationToken ct)
    {
        try
        {
            return await ceph.ListWatchersAsync(image, ct);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            return [];
        }
    }
}
