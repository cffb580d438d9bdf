using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary><see cref="ICephSnapshots"/> over librbd.</summary>
internal sealed class CephSnapshots(CephConnection connection) : ICephSnapshots
{
    public Task CreateSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(snapshot);
        var operation = $"rbd_snap_create {image}@{snapshot}";
        return connection.RunOnImageAsync(operation, image, readOnly: false, img => NativeCall.Check(Librbd.rbd_snap_create(img, snapshot), operation), ct);
    }

    public Task<IReadOnlyList<SnapshotInfo>> ListSnapshotsAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return connection.RunOnImageAsync<IReadOnlyList<SnapshotInfo>>($"rbd_snap_list {image}", image, readOnly: true, img => List(img, image), ct);
    }

    public Task<bool> RemoveSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(snapshot);
        var operation = $"rbd_snap_remove {image}@{snapshot}";
        return connection.RunOnImageAsync(operation, image, readOnly: false, img =>
        {
            var rc = Librbd.rbd_snap_remove(img, snapshot);
            return rc != -Errno.ENOENT && NativeCall.Check(rc, operation) >= 0;
        }, ct);
    }

    public Task RollbackSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(snapshot);
        var operation = $"rbd_snap_rollback {image}@{snapshot}";
        return connection.RunOnImageAsync(operation, image, readOnly: false, img => NativeCall.Check(Librbd.rbd_snap_rollback(img, snapshot), operation), ct);
    }

    private static unsafe List<SnapshotInfo> List(SafeRbdImageHandle img, ImageRef image)
    {
        var max = 8;
        while (true)
        {
            var entries = new RbdSnapInfo[max];
            var offered = max;
            fixed (RbdSnapInfo* first = entries)
            {
                var rc = Librbd.rbd_snap_list(img, first, ref max);
                if (rc == -Errno.ERANGE && max > offered)
                {
                    continue;
                }

                NativeCall.Check(rc, $"rbd_snap_list {image}");
                try
                {
                    var list = new List<SnapshotInfo>(rc);
                    for (var i = 0; i < rc; i++)
                    {
                        NativeCall.Check(Librbd.rbd_snap_get_timestamp(img, entries[i].Id, out var when), $"rbd_snap_get_timestamp {image}");
                        list.Add(new SnapshotInfo(entries[i].Id, NativeCall.CString(entries[i].Name) ?? "", entries[i].Size,
                            DateTimeOffset.FromUnixTimeSeconds(when.Seconds)));
                    }

                    return list;
                }
                finally
                {
                    Librbd.rbd_snap_list_end(first);
                }
            }
        }
    }
}
