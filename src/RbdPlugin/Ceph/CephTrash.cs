using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary><see cref="ICephTrash"/> over librbd.</summary>
internal sealed class CephTrash(CephConnection connection) : ICephTrash
{
    public Task<string?> TrashImageAsync(ImageRef image, TimeSpan expiry, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(expiry, TimeSpan.Zero);
        var delay = (ulong)Math.Ceiling(expiry.TotalSeconds);
        return connection.RunAsync<string?>($"rbd_trash_move {image}", image.Pool, image.Namespace, io =>
        {
            // The id before the move: after it the name may be in the trash more than once.
            string id;
            using (var img = ImageHandles.TryOpen(io, image, readOnly: true))
            {
                if (img is null)
                {
                    return null;
                }

                id = ImageHandles.GetId(img, image);
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
        return connection.RunAsync<IReadOnlyList<TrashEntry>>($"rbd_trash_list {pool}/{ns}", pool, ns, io => Trash(io, pool, ns), ct);
    }

    /// <summary>Without <paramref name="force"/>, an entry whose deferment has not ended is refused with EPERM, the
    /// trash's own protection against purging early; an operator's explicit purge forces.</summary>
    public Task RemoveFromTrashAsync(string pool, string ns, string id, bool force, CancellationToken ct)
    {
        CheckEntry(pool, ns, id);
        var operation = $"rbd_trash_remove {pool}/{ns} {id}";
        return connection.RunAsync(operation, pool, ns, io =>
        {
            var rc = Librbd.rbd_trash_remove(io, id, force);
            return rc == -Errno.ENOENT ? 0 : NativeCall.Check(rc, operation);
        }, ct);
    }

    public Task<bool> RestoreFromTrashAsync(string pool, string ns, string id, string name, CancellationToken ct)
    {
        CheckEntry(pool, ns, id);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var operation = $"rbd_trash_restore {pool}/{ns} {id} as {name}";
        return connection.RunAsync(operation, pool, ns, io =>
        {
            // -EEXIST (the name is taken) propagates: the caller decides what to tell the operator.
            var rc = Librbd.rbd_trash_restore(io, id, name);
            return rc != -Errno.ENOENT && NativeCall.Check(rc, operation) >= 0;
        }, ct);
    }

    public Task<ulong?> StatTrashedImageAsync(string pool, string ns, string id, CancellationToken ct)
    {
        CheckEntry(pool, ns, id);
        var operation = $"rbd_open_by_id_read_only {pool}/{ns} {id}";
        return connection.RunAsync<ulong?>(operation, pool, ns, io => SizeById(io, id, operation), ct);
    }

    private static void CheckEntry(string pool, string ns, string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(pool);
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentException.ThrowIfNullOrEmpty(id);
    }

    private static unsafe ulong? SizeById(SafeIoCtxHandle io, string id, string operation)
    {
        var rc = Librbd.rbd_open_by_id_read_only(io, id, out var img, null);
        using (img)
        {
            if (rc == -Errno.ENOENT)
            {
                return null;
            }

            NativeCall.Check(rc, operation);
            img.KeepAlive(io);
            NativeCall.Check(Librbd.rbd_stat(img, out var info, (nuint)sizeof(RbdImageInfo)), $"rbd_stat {id}");
            return info.Size;
        }
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
                            DateTimeOffset.FromUnixTimeSeconds(entries[i].DefermentEndTime),
                            DateTimeOffset.FromUnixTimeSeconds(entries[i].DeletionTime)));
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
