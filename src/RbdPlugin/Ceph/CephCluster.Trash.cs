using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

// The RBD trash: deferred deletion.
internal sealed partial class CephCluster
{
    public Task<string?> TrashImageAsync(ImageRef image, TimeSpan expiry, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(expiry, TimeSpan.Zero);
        var delay = (ulong)Math.Ceiling(expiry.TotalSeconds);
        return RunAsync<string?>($"rbd_trash_move {image}", image.Pool, image.Namespace, io =>
        {
            // The id before the move: after it the name may be in the trash more than once.
            string id;
            using (var img = TryOpen(io, image, readOnly: true))
            {
                if (img is null)
                {
                    return null;
                }

                id = GetId(img, image);
            }

            var rc = Librbd.rbd_trash_move(io, image.Name, delay);
            if (rc == -Errno.ENOENT)
            {
                return null;
            }

            NativeCall.Check(rc, $"rbd_trash_move {image}");
            return id;
        }, ct);
    }

    public Task<IReadOnlyList<TrashEntry>> ListTrashAsync(string pool, string ns, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(pool);
        ArgumentNullException.ThrowIfNull(ns);
        return RunAsync<IReadOnlyList<TrashEntry>>($"rbd_trash_list {pool}/{ns}", pool, ns, io => Trash(io, pool, ns), ct);
    }

    /// <summary>Purges without force: an entry whose deferment has not ended is refused with EPERM, the trash's own
    /// protection against purging early.</summary>
    public Task RemoveFromTrashAsync(string pool, string ns, string id, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(pool);
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentException.ThrowIfNullOrEmpty(id);
        var operation = $"rbd_trash_remove {pool}/{ns} {id}";
        return RunAsync(operation, pool, ns, io =>
        {
            var rc = Librbd.rbd_trash_remove(io, id, force: false);
            return rc == -Errno.ENOENT ? 0 : NativeCall.Check(rc, operation);
        }, ct);
    }

    private static unsafe string GetId(SafeRbdImageHandle img, ImageRef image)
    {
        // Image ids are a dozen or so hex digits; 64 bytes leave room.
        var buffer = stackalloc byte[64];
        NativeCall.Check(Librbd.rbd_get_id(img, buffer, 64), $"rbd_get_id {image}");
        return NativeCall.FromBuffer(new ReadOnlySpan<byte>(buffer, 64));
    }

    private static unsafe List<TrashEntry> Trash(SafeIoCtxHandle io, string pool, string ns)
    {
        nuint count = 16;
        while (true)
        {
            var entries = new RbdTrashImageInfo[checked((int)count)];
            var offered = count;
            fixed (RbdTrashImageInfo* first = entries)
            {
                var rc = Librbd.rbd_trash_list(io, first, ref count);
                if (rc == -Errno.ERANGE && count > offered)
                {
                    continue;
                }

                NativeCall.Check(rc, $"rbd_trash_list {pool}/{ns}");
                try
                {
                    var list = new List<TrashEntry>((int)count);
                    for (var i = 0; i < (int)count; i++)
                    {
                        list.Add(new TrashEntry(
                            pool,
                            ns,
                            NativeCall.CString(entries[i].Id) ?? "",
                            NativeCall.CString(entries[i].Name) ?? "",
                            DateTimeOffset.FromUnixTimeSeconds(entries[i].DefermentEndTime)));
                    }

                    return list;
                }
                finally
                {
                    Librbd.rbd_trash_list_cleanup(first, count);
                }
            }
        }
    }
}
