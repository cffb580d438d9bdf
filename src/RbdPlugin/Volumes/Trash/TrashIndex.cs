using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// What the plugin itself moved to Ceph's trash: the omap of <see cref="IndexObject"/> (key = image id, value =
/// <see cref="TrashRecord"/>). Other tools' entries in the same pool's trash are never ours to touch.
/// </summary>
internal sealed class TrashIndex(IRadosOmap omap, VolumeSettings settings)
{
    public const string IndexObject = "rbd-plugin.trash";

    private RadosObject Index => new(settings.Pool, settings.Namespace, IndexObject);

    /// <summary>Every entry by image id, damaged ones included (the value then does not parse).</summary>
    public Task<IReadOnlyDictionary<string, string>> ReadAllAsync(CancellationToken ct) => omap.ReadOmapAsync(Index, ct);

    public Task PutAsync(TrashRecord record, CancellationToken ct) => omap.SetOmapKeyAsync(Index, record.TrashId, record.ToJson(), ct);

    public Task RemoveAsync(string trashId, CancellationToken ct) => omap.RemoveOmapKeyAsync(Index, trashId, ct);
}
