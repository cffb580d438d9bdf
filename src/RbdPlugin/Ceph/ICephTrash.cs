namespace RbdPlugin.Ceph;

/// <summary>The RBD trash of a pool (or RADOS namespace): deferred deletion.</summary>
internal interface ICephTrash
{
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
}
