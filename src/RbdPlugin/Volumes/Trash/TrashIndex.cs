using System.Text.RegularExpressions;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// What the plugin itself moved to Ceph's trash: the omap of <see cref="IndexObject"/> (key = image id, value =
/// <see cref="TrashRecord"/>). Other tools' entries in the same pool's trash are never ours to touch.
/// </summary>
internal sealed partial class TrashIndex(IRadosOmap omap, VolumeSettings settings)
{
    public const string IndexObject = "rbd-plugin.trash";

    private RadosObject Index => new(settings.Pool, settings.Namespace, IndexObject);

    /// <summary>
    /// Every entry by image id, with its record; null for one that is damaged or not ours to act on. The index is
    /// writable by every host's key and a purge deletes what a record names: only records of a valid volume name, an
    /// image id, an allowed pool and our namespace are used.
    /// </summary>
    public async Task<IReadOnlyList<(string Key, TrashRecord? Record)>> ReadAllAsync(CancellationToken ct) =>
        [.. (await omap.ReadOmapAsync(Index, ct)).Select(kv => (kv.Key, Usable(TrashRecord.FromJson(kv.Value), kv.Key)))];

    private TrashRecord? Usable(TrashRecord? record, string key) =>
        record is not null && record.TrashId == key && ImageId().IsMatch(key) && VolumeName.IsValid(record.Name)
            && settings.AllowedPools.Contains(record.Pool) && record.Namespace == settings.Namespace ? record : null;

    [GeneratedRegex("^[0-9a-f]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ImageId();

    public Task PutAsync(TrashRecord record, CancellationToken ct) => omap.SetOmapKeyAsync(Index, record.TrashId, record.ToJson(), ct);

    public Task RemoveAsync(string trashId, CancellationToken ct) => omap.RemoveOmapKeyAsync(Index, trashId, ct);
}
