using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>
/// This host's daemon, reached over its admin socket, for what only the daemon that has a volume mounted can do:
/// freeze it around a snapshot, grow its filesystem online.
/// </summary>
internal sealed class LocalDaemon(string adminSocket)
{
    /// <summary>Bounds one admin call: the daemon's freeze (30 s) and snapshot limit (10 s), plus Ceph's own.</summary>
    private static readonly TimeSpan AdminTimeout = TimeSpan.FromSeconds(90);

    public async Task<SnapshotTaken> SnapshotAsync(string name, string snapshot, CancellationToken ct)
    {
        using var admin = new AdminClient(adminSocket, AdminTimeout);
        return await admin.PostAsync(AdminRoutes.PathOf(AdminRoutes.SnapshotsPath, name), new SnapshotRequest(snapshot),
            AdminJsonContext.Default.SnapshotRequest, AdminJsonContext.Default.SnapshotTaken, ct);
    }

    public async Task<FilesystemGrowth> GrowAsync(string name, CancellationToken ct)
    {
        using var admin = new AdminClient(adminSocket, AdminTimeout);
        return await admin.PostAsync(AdminRoutes.PathOf(AdminRoutes.GrowPath, name), new GrowRequest(name),
            AdminJsonContext.Default.GrowRequest, AdminJsonContext.Default.FilesystemGrowth, ct);
    }
}
