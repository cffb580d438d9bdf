using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary>
/// Blocking librbd steps on an open image that several services need: open, stat, metadata, watchers, id. Call on
/// the thread pool (through <see cref="CephConnection.RunAsync{T}"/>).
/// </summary>
internal static class ImageHandles
{
    /// <summary>Opens the image; throws <see cref="CephException"/> (ENOENT included) on failure.</summary>
    public static SafeRbdImageHandle Open(SafeIoCtxHandle io, ImageRef image, bool readOnly) =>
        TryOpen(io, image, readOnly) ?? throw new CephException($"{(readOnly ? "rbd_open_read_only" : "rbd_open")} {image}", Errno.ENOENT);

    /// <summary>Opens the image, or null when it does not exist.</summary>
    public static SafeRbdImageHandle? TryOpen(SafeIoCtxHandle io, ImageRef image, bool readOnly)
    {
        var rc = readOnly
            ? Librbd.rbd_open_read_only(io, image.Name, out var img, null)
            : Librbd.rbd_open(io, image.Name, out img, null);
        if (rc < 0)
        {
            img.Dispose();
            return rc == -Errno.ENOENT
                ? null
                : throw new CephException($"{(readOnly ? "rbd_open_read_only" : "rbd_open")} {image}", -rc);
        }

        img.KeepAlive(io);
        return img;
    }

    /// <summary>Size, features and the metadata keys asked for (missing keys left out); null when no such image.</summary>
    public static unsafe ImageInfo? Stat(SafeIoCtxHandle io, ImageRef image, IReadOnlyCollection<string> metadataKeys)
    {
        using var img = TryOpen(io, image, readOnly: true);
        if (img is null)
        {
            return null;
        }

        NativeCall.Check(Librbd.rbd_stat(img, out var info, (nuint)sizeof(RbdImageInfo)), $"rbd_stat {image}");
        NativeCall.Check(Librbd.rbd_get_features(img, out var features), $"rbd_get_features {image}");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in metadataKeys)
        {
            if (GetMetadata(img, image, key) is { } value)
            {
                metadata[key] = value;
            }
        }

        return new ImageInfo(image, info.Size, features, metadata);
    }

    /// <summary>The image's id (what it keeps in the trash).</summary>
    public static unsafe string GetId(SafeRbdImageHandle img, ImageRef image)
    {
        // Image ids are a dozen or so hex digits; 64 bytes leave room.
        var buffer = stackalloc byte[64];
        NativeCall.Check(Librbd.rbd_get_id(img, buffer, 64), $"rbd_get_id {image}");
        return NativeCall.FromBuffer(new ReadOnlySpan<byte>(buffer, 64));
    }

    /// <summary>Clients watching the header; none when the image is gone.</summary>
    public static unsafe List<Watcher> Watchers(SafeIoCtxHandle io, ImageRef image)
    {
        // A read-only open registers no watch of its own, so we do not count ourselves.
        using var img = TryOpen(io, image, readOnly: true);
        if (img is null)
        {
            return [];
        }

        nuint count = 8;
        while (true)
        {
            var entries = new RbdImageWatcher[checked((int)count)];
            var offered = count;
            fixed (RbdImageWatcher* first = entries)
            {
                var rc = Librbd.rbd_watchers_list(img, first, ref count);
                if (rc == -Errno.ERANGE && count > offered)
                {
                    continue;
                }

                NativeCall.Check(rc, $"rbd_watchers_list {image}");
                try
                {
                    var watchers = new List<Watcher>((int)count);
                    for (var i = 0; i < (int)count; i++)
                    {
                        watchers.Add(new Watcher(NativeCall.CString(entries[i].Addr) ?? "", (ulong)entries[i].Id));
                    }

                    return watchers;
                }
                finally
                {
                    Librbd.rbd_watchers_list_cleanup(first, count);
                }
            }
        }
    }

    private static unsafe string? GetMetadata(SafeRbdImageHandle img, ImageRef image, string key)
    {
        nuint length = 256;
        while (true)
        {
            var buffer = new byte[checked((int)length)];
            var offered = length;
            int rc;
            fixed (byte* value = buffer)
            {
                rc = Librbd.rbd_metadata_get(img, key, value, ref length);
            }

            if (rc == -Errno.ENOENT)
            {
                return null;
            }

            // Too small: librbd put the size it needs (value + NUL) in length.
            if (rc == -Errno.ERANGE && length > offered)
            {
                continue;
            }

            NativeCall.Check(rc, $"rbd_metadata_get {image} {key}");
            return NativeCall.FromBuffer(buffer);
        }
    }
}
