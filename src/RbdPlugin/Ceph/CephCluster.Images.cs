using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

// Images: create, stat, metadata, remove, watchers.
internal sealed partial class CephCluster
{
    public Task CreateImageAsync(ImageCreateRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var image = request.Image;
        return RunAsync($"rbd_create4 {image}", image.Pool, image.Namespace, io => Create(io, request), ct);
    }

    public Task<ImageInfo?> StatImageAsync(ImageRef image, IReadOnlyCollection<string> metadataKeys, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(metadataKeys);
        return RunAsync($"rbd_stat {image}", image.Pool, image.Namespace, io => Stat(io, image, metadataKeys), ct);
    }

    public Task SetImageMetadataAsync(ImageRef image, string key, string value, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        var operation = $"rbd_metadata_set {image} {key}";
        return RunOnImageAsync(operation, image, readOnly: false, img => NativeCall.Check(Librbd.rbd_metadata_set(img, key, value), operation), ct);
    }

    public Task<bool> RemoveImageAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return RunAsync($"rbd_remove {image}", image.Pool, image.Namespace, io =>
        {
            // -EBUSY (watched), -ENOTEMPTY (snapshots) and the rest propagate; only "already gone" is success.
            var rc = Librbd.rbd_remove(io, image.Name);
            return rc != -Errno.ENOENT && NativeCall.Check(rc, $"rbd_remove {image}") >= 0;
        }, ct);
    }

    public Task<IReadOnlyList<Watcher>> ListWatchersAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return RunAsync<IReadOnlyList<Watcher>>($"rbd_watchers_list {image}", image.Pool, image.Namespace, io => Watchers(io, image), ct);
    }

    /// <summary>rbd_create4 with the options, then the metadata; a failure after the create removes the image again,
    /// so nobody ever sees a volume without its creation record.</summary>
    private int Create(SafeIoCtxHandle io, ImageCreateRequest request) =>
        CreateWith(io, request, opts => Librbd.rbd_create4(io, request.Image.Name, request.SizeBytes, opts), $"rbd_create4 {request.Image}");

    /// <summary>Makes the image with <paramref name="make"/> (given the request's options), then writes the metadata;
    /// a failure after the image exists removes it again.</summary>
    private int CreateWith(SafeIoCtxHandle io, ImageCreateRequest request, Func<nint, int> make, string operation)
    {
        var image = request.Image;
        Librbd.rbd_image_options_create(out var opts);
        try
        {
            if (request.Features is { } features)
            {
                NativeCall.Check(Librbd.rbd_image_options_set_uint64(opts, Librbd.ImageOptionFeatures, features), $"rbd_image_options features {image}");
            }

            if (request.Order is { } order)
            {
                NativeCall.Check(Librbd.rbd_image_options_set_uint64(opts, Librbd.ImageOptionOrder, checked((ulong)order)), $"rbd_image_options order {image}");
            }

            if (request.DataPool is { } dataPool)
            {
                NativeCall.Check(Librbd.rbd_image_options_set_string(opts, Librbd.ImageOptionDataPool, dataPool), $"rbd_image_options data_pool {image}");
            }

            NativeCall.Check(make(opts), operation);
        }
        finally
        {
            Librbd.rbd_image_options_destroy(opts);
        }

        if (request.Metadata.Count == 0)
        {
            return 0;
        }

        try
        {
            using var img = Open(io, image, readOnly: false);
            foreach (var (key, value) in request.Metadata)
            {
                NativeCall.Check(Librbd.rbd_metadata_set(img, key, value), $"rbd_metadata_set {image} {key}");
            }
        }
        catch (CephException e)
        {
            // The image is closed by now (the using ends before this handler runs), so the remove is not refused as busy.
            var rc = Librbd.rbd_remove(io, image.Name);
            if (rc < 0 && rc != -Errno.ENOENT)
            {
                LogRollbackFailed(_logger, image.ToString(), e.Errno, -rc);
            }
            else
            {
                LogCreateRolledBack(_logger, image.ToString(), e.Errno);
            }

            throw;
        }

        return 0;
    }

    private static unsafe ImageInfo? Stat(SafeIoCtxHandle io, ImageRef image, IReadOnlyCollection<string> metadataKeys)
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

    private static unsafe List<Watcher> Watchers(SafeIoCtxHandle io, ImageRef image)
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

    /// <summary>Opens the image; throws <see cref="CephException"/> (ENOENT included) on failure.</summary>
    private static SafeRbdImageHandle Open(SafeIoCtxHandle io, ImageRef image, bool readOnly) =>
        TryOpen(io, image, readOnly) ?? throw new CephException($"{(readOnly ? "rbd_open_read_only" : "rbd_open")} {image}", Errno.ENOENT);

    /// <summary>Opens the image, or null when it does not exist.</summary>
    private static SafeRbdImageHandle? TryOpen(SafeIoCtxHandle io, ImageRef image, bool readOnly)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Setting metadata on new image {Image} failed (errno {Errno}); removed the image again")]
    private static partial void LogCreateRolledBack(ILogger logger, string image, int errno);

    [LoggerMessage(Level = LogLevel.Error, Message = "Setting metadata on new image {Image} failed (errno {Errno}) and removing it failed too (errno {RemoveErrno}): remove it by hand")]
    private static partial void LogRollbackFailed(ILogger logger, string image, int errno, int removeErrno);
}
