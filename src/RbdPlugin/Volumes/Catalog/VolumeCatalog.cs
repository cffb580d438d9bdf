using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// The volume index: one RADOS object in the default pool whose omap maps volume name → <see cref="VolumeRecord"/>.
/// It makes names unique across all allowed pools, answers List in one round trip, and tells our volumes apart
/// from other images in the pool. Every record read from it, or from an image's metadata, passes
/// <see cref="StoredRecord"/> first: any host's key can write the index (invariant 9).
/// </summary>
internal sealed partial class VolumeCatalog(IRadosOmap omap, ICephImages images, VolumeSettings settings, ILogger<VolumeCatalog> logger)
{
    public const string IndexObject = "rbd-plugin.volumes";

    private RadosObject Index => IndexOf(settings);

    /// <summary>The index object of the configured pool and namespace.</summary>
    public static RadosObject IndexOf(VolumeSettings settings) => new(settings.Pool, settings.Namespace, IndexObject);

    /// <summary>The volume's record; null when the index has no entry for it.</summary>
    /// <exception cref="VolumeException">Damaged: the entry is not a record this plugin may use; it names the problem.</exception>
    public async Task<VolumeRecord?> GetAsync(string name, CancellationToken ct)
    {
        var json = await omap.ReadOmapKeyAsync(Index, name, ct);
        return json is null ? null : Trusted(name, json);
    }

    /// <summary>A volume that really exists: its record and its image's size and features (read from the header,
    /// without opening the image). Null when there is no record or its image was deleted outside the plugin.</summary>
    public async Task<(VolumeRecord Record, ImageInfo Image)?> FindAsync(string name, CancellationToken ct) =>
        await GetAsync(name, ct) is { } record && await images.PeekImageAsync(record.Image, ct) is { } image ? (record, image) : null;

    /// <summary>Every trusted record. An entry that is not is skipped with a warning naming it and the problem, so
    /// one bad entry never hides the others; every verb on that volume fails with the same problem.</summary>
    public async Task<IReadOnlyList<VolumeRecord>> ListAsync(CancellationToken ct)
    {
        var all = await omap.ReadOmapAsync(Index, ct);
        var records = new List<VolumeRecord>(all.Count);
        foreach (var (name, json) in all)
        {
            var record = VolumeRecord.FromJson(json);
            if (StoredRecord.Problem(record, name, pool: null, settings) is { } problem)
            {
                LogSkipped(StoredRecord.Quote(name), problem);
                continue;
            }

            records.Add(record!);
        }

        return records;
    }

    /// <summary>The names alone: the index's keys without the records (List needs only names; 1,000 records are
    /// ~300 KB to send and parse, 1,000 names ~15 KB).</summary>
    public Task<IReadOnlyList<string>> ListNamesAsync(CancellationToken ct) => omap.ReadOmapKeysAsync(Index, ct);

    public Task PutAsync(VolumeRecord record, CancellationToken ct) => omap.SetOmapKeyAsync(Index, record.Name, record.ToJson(), ct);

    public Task RemoveAsync(string name, CancellationToken ct) => omap.RemoveOmapKeyAsync(Index, name, ct);

    /// <summary>
    /// The record an image carries in its metadata (<see cref="VolumeRecord.MetadataKey"/>), checked like an index
    /// entry and against the image it was read from; null when <paramref name="json"/> is null (none there).
    /// </summary>
    /// <exception cref="VolumeException">Damaged: the image's record is not one this plugin may use.</exception>
    public VolumeRecord? TrustedImageRecord(ImageRef image, string? json)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (json is null)
        {
            return null;
        }

        var record = VolumeRecord.FromJson(json);
        return StoredRecord.Problem(record, image.Name, image.Pool, settings) is { } problem
            ? throw new VolumeException(VolumeErrorKind.Damaged,
                $"volume {image.Name}: the record in the metadata of image {image} ({VolumeRecord.MetadataKey}) is not trusted: {problem}. " +
                $"Check who wrote it (`rbd image-meta get {image} {VolumeRecord.MetadataKey}` shows it); docs/troubleshooting.md says how to repair it")
            : record;
    }

    /// <summary>The trusted record <paramref name="image"/> carries; null when the image is gone or carries none.</summary>
    /// <exception cref="VolumeException">Damaged: see <see cref="TrustedImageRecord"/>.</exception>
    public async Task<VolumeRecord?> ImageRecordAsync(ImageRef image, CancellationToken ct)
    {
        var info = await images.StatImageAsync(image, [VolumeRecord.MetadataKey], ct);
        return TrustedImageRecord(image, info?.Metadata.GetValueOrDefault(VolumeRecord.MetadataKey));
    }

    private VolumeRecord Trusted(string name, string json)
    {
        var record = VolumeRecord.FromJson(json);
        return StoredRecord.Problem(record, name, pool: null, settings) is { } problem
            ? throw new VolumeException(VolumeErrorKind.Damaged,
                $"volume {StoredRecord.Printable(name)}: its record in the volume index is not trusted: {problem}; nothing was changed. " +
                $"Any host's Ceph key can write the index: check who changed it, then repair or remove the entry " +
                $"(`rados -p {settings.Pool}{(settings.Namespace.Length > 0 ? $" --namespace {settings.Namespace}" : "")} getomapval {IndexObject} {StoredRecord.Printable(name)}` shows it; docs/troubleshooting.md says how)")
            : record!;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipping volume {Volume}: its record in the volume index is not trusted: {Problem}")]
    private partial void LogSkipped(string volume, string problem);
}
