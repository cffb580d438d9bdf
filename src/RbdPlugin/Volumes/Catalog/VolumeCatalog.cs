using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// The volume index: one RADOS object in the default pool whose omap maps volume name → <see cref="VolumeRecord"/>.
/// It makes names unique across all allowed pools, answers List in one round trip, and tells our volumes apart
/// from other images in the pool.
/// </summary>
internal sealed class VolumeCatalog(IRadosOmap omap, ICephImages images, VolumeSettings settings)
{
    public const string IndexObject = "rbd-plugin.volumes";

    private RadosObject Index => IndexOf(settings);

    /// <summary>The index object of the configured pool and namespace.</summary>
    public static RadosObject IndexOf(VolumeSettings settings) => new(settings.Pool, settings.Namespace, IndexObject);

    public async Task<VolumeRecord?> GetAsync(string name, CancellationToken ct)
    {
        var json = await omap.ReadOmapKeyAsync(Index, name, ct);
        return json is null ? null : VolumeRecord.FromJson(json);
    }

    /// <summary>A volume that really exists: its record and its image's size and features (read from the header,
    /// without opening the image). Null when there is no record or its image was deleted outside the plugin.</summary>
    public async Task<(VolumeRecord Record, ImageInfo Image)?> FindAsync(string name, CancellationToken ct) =>
        await GetAsync(name, ct) is { } record && await images.PeekImageAsync(record.Image, ct) is { } image ? (record, image) : null;

    public async Task<IReadOnlyList<VolumeRecord>> ListAsync(CancellationToken ct)
    {
        var all = await omap.ReadOmapAsync(Index, ct);
        return all.Values.Select(VolumeRecord.FromJson).OfType<VolumeRecord>().ToList();
    }

    /// <summary>The names alone: the index's keys without the records (List needs only names; 1,000 records are
    /// ~300 KB to send and parse, 1,000 names ~15 KB).</summary>
    public Task<IReadOnlyList<string>> ListNamesAsync(CancellationToken ct) => omap.ReadOmapKeysAsync(Index, ct);

    public Task PutAsync(VolumeRecord record, CancellationToken ct) => omap.SetOmapKeyAsync(Index, record.Name, record.ToJson(), ct);

    public Task RemoveAsync(string name, CancellationToken ct) => omap.RemoveOmapKeyAsync(Index, name, ct);
}
