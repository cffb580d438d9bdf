using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

// Snapshots, clones and resize.
internal sealed partial class CephCluster
{
    public Task CreateSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(snapshot);
        var operation = $"rbd_snap_create {image}@{snapshot}";
        return RunOnImageAsync(operation, image, readOnly: false, img => NativeCall.Check(Librbd.rbd_snap_create(img, snapshot), operation), ct);
    }

    public Task<IReadOnlyList<SnapshotInfo>> ListSnapshotsAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return RunOnImageAsync<IReadOnlyList<SnapshotInfo>>($"rbd_snap_list {image}", image, readOnly: true, img => Snapshots(img, image), ct);
    }

    public Task<bool> RemoveSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(snapshot);
        var operation = $"rbd_snap_remove {image}@{snapshot}";
        return RunOnImageAsync(operation, image, readOnly: false, img =>
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
        return RunOnImageAsync(operation, image, readOnly: false, img => NativeCall.Check(Librbd.rbd_snap_rollback(img, snapshot), operation), ct);
    }

    /// <summary>
    /// Clone format 2 always: it needs no protected snapshot (so a snapshot with clones can still be removed: it
    /// waits in the snapshot trash for its last child) and works whatever the cluster's
    /// require_min_compat_client says, as long as every client is Mimic or newer.
    /// </summary>
    public Task CloneImageAsync(ImageRef source, string snapshot, ImageCreateRequest clone, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(snapshot);
        ArgumentNullException.ThrowIfNull(clone);
        var operation = $"rbd_clone3 {source}@{snapshot} {clone.Image}";
        return _retry.ExecuteAsync(operation, () =>
        {
            var parentIo = IoCtx(source.Pool, source.Namespace);
            var childIo = IoCtx(clone.Image.Pool, clone.Image.Namespace);
            return CreateWith(childIo, clone, opts =>
            {
                var rc = Librbd.rbd_image_options_set_uint64(opts, Librbd.ImageOptionCloneFormat, 2);
                rc = rc < 0 ? rc : Librbd.rbd_clone3(parentIo, source.Name, snapshot, childIo, clone.Image.Name, opts);
                return rc < 0 ? rc : GrowNewClone(childIo, clone);
            }, operation);
        }, ct);
    }

    /// <summary>A clone has its snapshot's size: grows it to the asked size, or removes it again when that fails.</summary>
    private static unsafe int GrowNewClone(SafeIoCtxHandle io, ImageCreateRequest clone)
    {
        int rc;
        using (var img = Open(io, clone.Image, readOnly: false))
        {
            rc = Librbd.rbd_stat(img, out var info, (nuint)sizeof(RbdImageInfo));
            if (rc >= 0 && info.Size < clone.SizeBytes)
            {
                rc = Librbd.rbd_resize2(img, clone.SizeBytes, allowShrink: false, &Librbd.NoProgress, 0);
            }
        }

        if (rc < 0)
        {
            Librbd.rbd_remove(io, clone.Image.Name);
        }

        return rc;
    }

    /// <summary>Grows the image. Never shrinks: librbd refuses a smaller size itself (EINVAL) when shrinking is not allowed.</summary>
    public Task ResizeImageAsync(ImageRef image, ulong sizeBytes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        var operation = $"rbd_resize2 {image} {sizeBytes}";
        return RunOnImageAsync(operation, image, readOnly: false, img =>
        {
            unsafe
            {
                return NativeCall.Check(Librbd.rbd_resize2(img, sizeBytes, allowShrink: false, &Librbd.NoProgress, 0), operation);
            }
        }, ct);
    }

    public Task<bool> FlattenImageAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        var operation = $"rbd_flatten {image}";
        return RunOnImageAsync(operation, image, readOnly: false, img =>
        {
            unsafe
            {
                // librbd answers EINVAL for an image without a parent: already independent, which is what was asked.
                var rc = Librbd.rbd_flatten_with_progress(img, &Librbd.NoProgress, 0);
                return rc != -Errno.EINVAL && NativeCall.Check(rc, operation) >= 0;
            }
        }, ct);
    }

    private static unsafe List<SnapshotInfo> Snapshots(SafeRbdImageHandle img, ImageRef image)
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
