using System.Text.Json;
using System.Text.Json.Serialization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>A client this plugin blocklisted: whose it was, for which volume, when, by whom, and until when.</summary>
internal sealed record FenceRecord(string Address, string Host, string Volume, DateTimeOffset FencedAt, string FencedBy, DateTimeOffset Until)
{
    public string ToJson() => JsonSerializer.Serialize(this, FenceJsonContext.Default.FenceRecord);

    /// <summary>The record, or null when it is damaged or names no client address (the index is writable by every host's key).</summary>
    public static FenceRecord? FromJson(string json)
    {
        var record = StoredJson.Parse(json, FenceJsonContext.Default.FenceRecord);
        return record is not null && ClientAddress.IsValid(record.Address) && record.Host is not null && record.Volume is not null
            && record.FencedBy is not null ? record : null;
    }
}

/// <summary>
/// Every client the plugin fenced (the omap of <see cref="IndexObject"/>, key = client address), so that an operator
/// can see which hosts are fenced and lift the fence of one (<c>rbd-plugin host fences|unfence</c>) once it is known
/// to write no more: Ceph's blocklist itself says nothing about whose an address was.
/// </summary>
internal sealed class FenceIndex(IRadosOmap omap, VolumeSettings settings)
{
    public const string IndexObject = "rbd-plugin.fences";

    private RadosObject Index => new(settings.Pool, settings.Namespace, IndexObject);

    public Task PutAsync(FenceRecord record, CancellationToken ct) => omap.SetOmapKeyAsync(Index, record.Address, record.ToJson(), ct);

    public async Task<IReadOnlyList<FenceRecord>> ListAsync(CancellationToken ct) =>
        (await omap.ReadOmapAsync(Index, ct)).Values.Select(FenceRecord.FromJson).OfType<FenceRecord>()
            .OrderBy(r => r.FencedAt).ThenBy(r => r.Address, StringComparer.Ordinal).ToList();

    public Task RemoveAsync(string address, CancellationToken ct) => omap.RemoveOmapKeyAsync(Index, address, ct);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(FenceRecord))]
internal sealed partial class FenceJsonContext : JsonSerializerContext;
