namespace RbdPlugin.Ceph;

/// <summary>
/// RBD images: create, look at, change, remove. Every method is one or a few round trips on the daemon's one
/// connection (never a process per call), retries transient errors, and finishes within the configured operation
/// timeout or throws <see cref="CephException"/> with ETIMEDOUT.
/// </summary>
internal interface ICephImages
{
    /// <summary>Creates the image with its metadata. Throws <see cref="CephException"/> EEXIST when the name is taken.</summary>
    Task CreateImageAsync(ImageCreateRequest request, CancellationToken ct);

    /// <summary>Size, features and the requested metadata keys (missing keys are left out); null when no such image.</summary>
    Task<ImageInfo?> StatImageAsync(ImageRef image, IReadOnlyCollection<string> metadataKeys, CancellationToken ct);

    /// <summary>Size and features (no metadata) read from the image's header without opening it: the cheap answer to
    /// "does it exist, how large is it" for Get and inspect. Null when no such image.</summary>
    Task<ImageInfo?> PeekImageAsync(ImageRef image, CancellationToken ct);

    /// <summary>Sets one metadata key on an existing image.</summary>
    Task SetImageMetadataAsync(ImageRef image, string key, string value, CancellationToken ct);

    /// <summary>Renames the image within its pool and namespace (its id, data and snapshots stay). Throws
    /// <see cref="CephException"/> EEXIST when <paramref name="newName"/> is taken, ENOENT when the image is gone.</summary>
    Task RenameImageAsync(ImageRef image, string newName, CancellationToken ct);

    /// <summary>Sets the entries with a value and removes those without one (idempotent: a key not there is fine),
    /// in one open of the image.</summary>
    Task UpdateImageMetadataAsync(ImageRef image, IReadOnlyDictionary<string, string?> entries, CancellationToken ct);

    /// <summary>Deletes the image. Idempotent: false when it was already gone.</summary>
    Task<bool> RemoveImageAsync(ImageRef image, CancellationToken ct);

    /// <summary>The id of an image (what it keeps in the trash); null when no such image.</summary>
    Task<string?> GetImageIdAsync(ImageRef image, CancellationToken ct);

    /// <summary>Bytes allocated in the image (whole objects that exist, from the object map, like `rbd du`); null
    /// when the image has no valid fast-diff map (measuring would read every object) or does not exist.</summary>
    Task<ulong?> UsedBytesAsync(ImageRef image, CancellationToken ct);

    /// <summary>Clients watching the image's header: anyone who has it open or mapped.</summary>
    Task<IReadOnlyList<Watcher>> ListWatchersAsync(ImageRef image, CancellationToken ct);

    /// <summary>Grows the image to <paramref name="sizeBytes"/>; a smaller size is refused (EINVAL), never applied.</summary>
    Task ResizeImageAsync(ImageRef image, ulong sizeBytes, CancellationToken ct);

    /// <summary>
    /// Clones SOURCE@SNAPSHOT (copy-on-write, clone format 2) as <paramref name="clone"/>'s image, grows it to the
    /// asked size, and writes its metadata; a failure after the clone removes it again. EEXIST when the name is taken.
    /// </summary>
    Task CloneImageAsync(ImageRef source, string snapshot, ImageCreateRequest clone, CancellationToken ct);

    /// <summary>Copies the parent's data into a clone so it no longer depends on the snapshot (works while the clone
    /// is in use: librbd asks the exclusive-lock holder to do it). False when the image has no parent.</summary>
    Task<bool> FlattenImageAsync(ImageRef image, CancellationToken ct);
}

internal static class CephImagesExtensions
{
    /// <summary>Clients watching the image; none when the image is gone (ENOENT).</summary>
    public static async Task<IReadOnlyList<Watcher>> ListWatchersOrNoneAsync(this ICephImages images, ImageRef image, CancellationToken ct)
    {
        try
        {
            return await images.ListWatchersAsync(image, ct);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            return [];
        }
    }
}
