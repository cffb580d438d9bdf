namespace RbdPlugin.Ceph;

/// <summary>
/// The omap of plain RADOS objects (the volume index, the trash index, lease records): compound read/write ops, one
/// round trip each.
/// </summary>
internal interface IRadosOmap
{
    /// <summary>All omap key/value pairs of the object (empty when the object does not exist).</summary>
    Task<IReadOnlyDictionary<string, string>> ReadOmapAsync(RadosObject obj, CancellationToken ct);

    /// <summary>All omap keys of the object, without their values (empty when the object does not exist).</summary>
    Task<IReadOnlyList<string>> ReadOmapKeysAsync(RadosObject obj, CancellationToken ct);

    /// <summary>One omap value, or null when the key or the object does not exist.</summary>
    Task<string?> ReadOmapKeyAsync(RadosObject obj, string key, CancellationToken ct);

    /// <summary>Sets one omap key, creating the object when needed.</summary>
    Task SetOmapKeyAsync(RadosObject obj, string key, string value, CancellationToken ct);

    /// <summary>Removes one omap key. Idempotent.</summary>
    Task RemoveOmapKeyAsync(RadosObject obj, string key, CancellationToken ct);

    /// <summary>Deletes the object with its omap and locks. Idempotent: a missing object is success.</summary>
    Task RemoveObjectAsync(RadosObject obj, CancellationToken ct);
}
