namespace RbdPlugin.Ceph;

/// <summary>
/// The control plane: one long-lived connection to the cluster for the daemon's life. Every method is one or a few
/// round trips on that connection (never a process per call), retries transient errors, and finishes within the
/// configured operation timeout or throws <see cref="CephException"/> with ETIMEDOUT.
/// </summary>
internal interface ICephCluster : IAsyncDisposable
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

    /// <summary>Deletes the image. Idempotent: false when it was already gone.</summary>
    Task<bool> RemoveImageAsync(ImageRef image, CancellationToken ct);

    /// <summary>Moves the image to the pool's trash, protected until now + <paramref name="expiry"/>. Returns the trash id, or null when the image was already gone.</summary>
    Task<string?> TrashImageAsync(ImageRef image, TimeSpan expiry, CancellationToken ct);

    /// <summary>Everything in the trash of the pool/namespace.</summary>
    Task<IReadOnlyList<TrashEntry>> ListTrashAsync(string pool, string ns, CancellationToken ct);

    /// <summary>Purges one trash entry for good; without <paramref name="force"/> only once its deferment ended
    /// (else EPERM). Idempotent: an id already gone is success.</summary>
    Task RemoveFromTrashAsync(string pool, string ns, string id, bool force, CancellationToken ct);

    /// <summary>Moves a trash entry back into the pool as <paramref name="name"/>. False when the id is not in the
    /// trash; <see cref="CephException"/> EEXIST when an image of that name exists.</summary>
    Task<bool> RestoreFromTrashAsync(string pool, string ns, string id, string name, CancellationToken ct);

    /// <summary>The size of an image in the trash, by id; null when no such image.</summary>
    Task<ulong?> StatTrashedImageAsync(string pool, string ns, string id, CancellationToken ct);

    /// <summary>The id of an image (what it keeps in the trash); null when no such image.</summary>
    Task<string?> GetImageIdAsync(ImageRef image, CancellationToken ct);

    /// <summary>Bytes allocated in the image (whole objects that exist, from the object map, like `rbd du`); null
    /// when the image has no valid fast-diff map (measuring would read every object) or does not exist.</summary>
    Task<ulong?> UsedBytesAsync(ImageRef image, CancellationToken ct);

    /// <summary>Clients watching the image's header: anyone who has it open or mapped.</summary>
    Task<IReadOnlyList<Watcher>> ListWatchersAsync(ImageRef image, CancellationToken ct);

    /// <summary>All omap key/value pairs of a RADOS object (empty when the object does not exist).</summary>
    Task<IReadOnlyDictionary<string, string>> ReadOmapAsync(string pool, string ns, string objectName, CancellationToken ct);

    /// <summary>All omap keys of a RADOS object, without their values (empty when the object does not exist).</summary>
    Task<IReadOnlyList<string>> ReadOmapKeysAsync(string pool, string ns, string objectName, CancellationToken ct);

    /// <summary>One omap value, or null when the key or the object does not exist.</summary>
    Task<string?> ReadOmapKeyAsync(string pool, string ns, string objectName, string key, CancellationToken ct);

    /// <summary>Sets one omap key, creating the object when needed.</summary>
    Task SetOmapKeyAsync(string pool, string ns, string objectName, string key, string value, CancellationToken ct);

    /// <summary>Removes one omap key. Idempotent.</summary>
    Task RemoveOmapKeyAsync(string pool, string ns, string objectName, string key, CancellationToken ct);

    /// <summary>Deletes a RADOS object with its omap and locks. Idempotent: a missing object is success.</summary>
    Task RemoveObjectAsync(string pool, string ns, string objectName, CancellationToken ct);

    /// <summary>This connection's address as the OSDs see it: what a peer blocklists to fence this daemon.</summary>
    string InstanceAddress { get; }

    /// <summary>Fences a client: the OSDs refuse its I/O until <paramref name="expiry"/> passes.</summary>
    Task BlocklistAddAsync(string clientAddress, TimeSpan expiry, CancellationToken ct);

    /// <summary>
    /// Takes (<see cref="LockMode.Acquire"/>) or extends (<see cref="LockMode.Renew"/>) an exclusive lock on the
    /// object that the OSD drops after <paramref name="duration"/> without renewal; the object is created when
    /// missing. True when this connection holds the lock afterwards; false when another (client, cookie) holds it,
    /// or, on renew, when ours expired or was broken.
    /// </summary>
    Task<bool> LockExclusiveAsync(string pool, string ns, string objectName, string lockName, string cookie, string description,
        TimeSpan duration, LockMode mode, CancellationToken ct);

    /// <summary>Current holders of the lock (expired ones are not listed); empty when the object does not exist.</summary>
    Task<IReadOnlyList<Locker>> ListLockersAsync(string pool, string ns, string objectName, string lockName, CancellationToken ct);

    /// <summary>Removes another client's hold on the lock. Idempotent: a holder already gone is success.</summary>
    Task BreakLockAsync(string pool, string ns, string objectName, string lockName, Locker locker, CancellationToken ct);

    /// <summary>Releases this connection's hold on the lock. Idempotent.</summary>
    Task UnlockAsync(string pool, string ns, string objectName, string lockName, string cookie, CancellationToken ct);

    /// <summary>Takes a snapshot of the image as it is on the OSDs now. EEXIST when the name is taken.</summary>
    Task CreateSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct);

    /// <summary>The image's user snapshots, oldest first. ENOENT when no such image.</summary>
    Task<IReadOnlyList<SnapshotInfo>> ListSnapshotsAsync(ImageRef image, CancellationToken ct);

    /// <summary>Removes a snapshot (one with clones waits in the snapshot trash for its last child). Idempotent: false when it was already gone.</summary>
    Task<bool> RemoveSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct);

    /// <summary>Writes the snapshot's data (and size) back over the image. The caller makes sure nobody has it mapped.</summary>
    Task RollbackSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct);

    /// <summary>
    /// Clones SOURCE@SNAPSHOT (copy-on-write, clone format 2) as <paramref name="clone"/>'s image, grows it to the
    /// asked size, and writes its metadata; a failure after the clone removes it again. EEXIST when the name is taken.
    /// </summary>
    Task CloneImageAsync(ImageRef source, string snapshot, ImageCreateRequest clone, CancellationToken ct);

    /// <summary>Copies the parent's data into a clone so it no longer depends on the snapshot (works while the clone
    /// is in use: librbd asks the exclusive-lock holder to do it). False when the image has no parent.</summary>
    Task<bool> FlattenImageAsync(ImageRef image, CancellationToken ct);

    /// <summary>Grows the image to <paramref name="sizeBytes"/>; a smaller size is refused (EINVAL), never applied.</summary>
    Task ResizeImageAsync(ImageRef image, ulong sizeBytes, CancellationToken ct);
}
