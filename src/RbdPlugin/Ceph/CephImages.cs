using System.Runtime.InteropServices;
using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary><see cref="ICephImages"/> over librbd.</summary>
internal sealed partial class CephImages(CephConnection connection) : ICephImages
{
    public Task CreateImageAsync(ImageCreateRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var image = request.Image;
        var operation = $"rbd_create4 {image}";
        return connection.RunAsync(operation, image.Pool, image.Namespace,
            io => CreateWith(io, request, opts => Librbd.rbd_create4(io, image.Name, request.SizeBytes, opts), operation), ct);
    }

    public Task<ImageInfo?> StatImageAsync(ImageRef image, IReadOnlyCollection<string> metadataKeys, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(metadataKeys);
        return connection.RunAsync($"rbd_stat {image}", image.Pool, image.Namespace, io => ImageHandles.Stat(io, image, metadataKeys), ct);
    }

    /// <summary>
    /// Size and features without opening the image: librbd's open + stat + close is ~12 messages to the OSD and an
    /// ImageCtx set up and torn down; reading the header's omap is two small reads. Anything the layout does not
    /// explain (not in the directory, a header without the keys) is left to the open, which is the authority: it
    /// also answers null for an image that really is gone.
    /// </summary>
    public Task<ImageInfo?> PeekImageAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return connection.RunAsync($"peek {image}", image.Pool, image.Namespace, io => Peek(io, image) ?? ImageHandles.Stat(io, image, []), ct);
    }

    public Task SetImageMetadataAsync(ImageRef image, string key, string value, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        var operation = $"rbd_metadata_set {image} {key}";
        return connection.RunOnImageAsync(operation, image, readOnly: false, img => NativeCall.Check(Librbd.rbd_metadata_set(img, key, value), operation), ct);
    }

    public Task RenameImageAsync(ImageRef image, string newName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(newName);
        var operation = $"rbd_rename {image} {newName}";
        return connection.RunAsync(operation, image.Pool, image.Namespace, io => NativeCall.Check(Librbd.rbd_rename(io, image.Name, newName), operation), ct);
    }

    public Task UpdateImageMetadataAsync(ImageRef image, IReadOnlyDictionary<string, string?> entries, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(entries);
        return connection.RunOnImageAsync($"update metadata of {image}", image, readOnly: false, img =>
        {
            WriteMetadata(img, image, entries);
            return true;
        }, ct);
    }

    /// <summary>Sets each key with a value and removes each key without one (one already absent is fine).</summary>
    private static void WriteMetadata(SafeRbdImageHandle img, ImageRef image, IReadOnlyDictionary<string, string?> entries)
    {
        foreach (var (key, value) in entries)
        {
            if (value is null)
            {
                var rc = Librbd.rbd_metadata_remove(img, key);
                if (rc != -Errno.ENOENT)
                {
                    NativeCall.Check(rc, $"rbd_metadata_remove {image} {key}");
                }
            }
            else
            {
                NativeCall.Check(Librbd.rbd_metadata_set(img, key, value), $"rbd_metadata_set {image} {key}");
            }
        }
    }

    public Task<bool> RemoveImageAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return connection.RunAsync($"rbd_remove {image}", image.Pool, image.Namespace, io =>
        {
            // -EBUSY (watched), -ENOTEMPTY (snapshots) and the rest propagate; only "already gone" is success.
            var rc = Librbd.rbd_remove(io, image.Name);
            return rc != -Errno.ENOENT && NativeCall.Check(rc, $"rbd_remove {image}") >= 0;
        }, ct);
    }

    public Task<string?> GetImageIdAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return connection.RunAsync($"rbd_get_id {image}", image.Pool, image.Namespace, io =>
        {
            using var img = ImageHandles.TryOpen(io, image, readOnly: true);
            return img is null ? null : ImageHandles.GetId(img, image);
        }, ct);
    }

    public Task<ulong?> UsedBytesAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return connection.RunAsync($"rbd_diff_iterate2 {image}", image.Pool, image.Namespace, io => Used(io, image), ct);
    }

    public Task<IReadOnlyList<Watcher>> ListWatchersAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        return connection.RunAsync<IReadOnlyList<Watcher>>($"rbd_watchers_list {image}", image.Pool, image.Namespace,
            io => ImageHandles.Watchers(io, image), ct);
    }

    public Task ResizeImageAsync(ImageRef image, ulong sizeBytes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        var operation = $"rbd_resize2 {image} {sizeBytes}";
        return connection.RunOnImageAsync(operation, image, readOnly: false, img =>
        {
            unsafe
            {
                return NativeCall.Check(Librbd.rbd_resize2(img, sizeBytes, allowShrink: false, &Librbd.NoProgress, 0), operation);
            }
        }, ct);
    }

    public Task CloneImageAsync(ImageRef source, string snapshot, ImageCreateRequest clone, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(snapshot);
        ArgumentNullException.ThrowIfNull(clone);
        var operation = $"rbd_clone3 {source}@{snapshot} {clone.Image}";
        return connection.Retry.ExecuteAsync(operation, () =>
        {
            var parentIo = connection.IoCtx(source.Pool, source.Namespace);
            var childIo = connection.IoCtx(clone.Image.Pool, clone.Image.Namespace);
            return CreateWith(childIo, clone, opts =>
            {
                var rc = Librbd.rbd_image_options_set_uint64(opts, Librbd.ImageOptionCloneFormat, 2);
                rc = rc < 0 ? rc : Librbd.rbd_clone3(parentIo, source.Name, snapshot, childIo, clone.Image.Name, opts);
                return rc < 0 ? rc : GrowNewClone(childIo, clone);
            }, operation);
        }, ct);
    }

    public Task<bool> FlattenImageAsync(ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        var operation = $"rbd_flatten {image}";
        return connection.RunOnImageAsync(operation, image, readOnly: false, img =>
        {
            unsafe
            {
                // librbd answers EINVAL for an image without a parent: already independent, which is what was asked.
                var rc = Librbd.rbd_flatten_with_progress(img, &Librbd.NoProgress, 0);
                return rc != -Errno.EINVAL && NativeCall.Check(rc, operation) >= 0;
            }
        }, ct);
    }

    /// <summary>Makes the image with <paramref name="make"/> (given the request's options), then writes the metadata;
    /// a failure after the image exists removes it again, so nobody ever sees a volume without its creation record.</summary>
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
            using var img = ImageHandles.Open(io, image, readOnly: false);
            WriteMetadata(img, image, request.Metadata);
        }
        catch (CephException e)
        {
            // The image is closed by now (the using ends before this handler runs), so the remove is not refused as busy.
            var rc = Librbd.rbd_remove(io, image.Name);
            if (rc < 0 && rc != -Errno.ENOENT)
            {
                LogRollbackFailed(connection.Logger, image.ToString(), e.Errno, -rc);
            }
            else
            {
                LogCreateRolledBack(connection.Logger, image.ToString(), e.Errno);
            }

            throw;
        }

        return 0;
    }

    private static unsafe int GrowNewClone(SafeIoCtxHandle io, ImageCreateRequest clone)
    {
        int rc;
        using (var img = ImageHandles.Open(io, clone.Image, readOnly: false))
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

    private static ImageInfo? Peek(SafeIoCtxHandle io, ImageRef image)
    {
        var directory = OmapReads.ReadKeys(io, new RadosObject(image.Pool, image.Namespace, ImageHeaderLayout.DirectoryObject),
            [ImageHeaderLayout.DirectoryKey(image.Name)]);
        if (directory?.Values.SingleOrDefault() is not { } idValue || ImageHeaderLayout.DecodeId(idValue) is not { } id)
        {
            return null;
        }

        var header = OmapReads.ReadKeys(io, new RadosObject(image.Pool, image.Namespace, ImageHeaderLayout.HeaderObject(id)),
            [ImageHeaderLayout.SizeKey, ImageHeaderLayout.FeaturesKey]);
        return header is not null
            && header.TryGetValue(ImageHeaderLayout.SizeKey, out var size) && ImageHeaderLayout.DecodeU64(size) is { } bytes
            && header.TryGetValue(ImageHeaderLayout.FeaturesKey, out var features) && ImageHeaderLayout.DecodeU64(features) is { } bits
            ? new ImageInfo(image, bytes, bits, new Dictionary<string, string>())
            : null;
    }

    /// <summary>
    /// Sums the objects that exist (whole_object = 1, from the start of the image's history), the way `rbd du` does
    /// with fast-diff. Without a valid fast-diff map librbd would stat every object of the image instead, which for a
    /// large image is far too slow for a listing: then the answer is null (unknown).
    /// </summary>
    private static unsafe ulong? Used(SafeIoCtxHandle io, ImageRef image)
    {
        using var img = ImageHandles.TryOpen(io, image, readOnly: true);
        if (img is null)
        {
            return null;
        }

        NativeCall.Check(Librbd.rbd_get_features(img, out var features), $"rbd_get_features {image}");
        NativeCall.Check(Librbd.rbd_get_flags(img, out var flags), $"rbd_get_flags {image}");
        if ((features & RbdFeatures.FastDiff) == 0 || (flags & Librbd.FlagFastDiffInvalid) != 0)
        {
            return null;
        }

        NativeCall.Check(Librbd.rbd_stat(img, out var info, (nuint)sizeof(RbdImageInfo)), $"rbd_stat {image}");
        ulong used = 0;
        NativeCall.Check(
            Librbd.rbd_diff_iterate2(img, null, 0, info.Size, includeParent: 1, wholeObject: 1, &CountExtent, &used),
            $"rbd_diff_iterate2 {image}");
        return used;
    }

    /// <summary>Called by librbd on its own thread for each extent, while <c>Used</c>'s frame (and <c>used</c>) is live.</summary>
    [UnmanagedCallersOnly]
    private static unsafe int CountExtent(ulong offset, nuint length, int exists, void* arg)
    {
        if (exists != 0)
        {
            *(ulong*)arg += length;
        }

        return 0;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Setting metadata on new image {Image} failed (errno {Errno}); removed the image again")]
    private static partial void LogCreateRolledBack(ILogger logger, string image, int errno);

    [LoggerMessage(Level = LogLevel.Error, Message = "Setting metadata on new image {Image} failed (errno {Errno}) and removing it failed too (errno {RemoveErrno}): remove it by hand")]
    private static partial void LogRollbackFailed(ILogger logger, string image, int errno, int removeErrno);
}
