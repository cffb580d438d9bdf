using System.Text.Json;
using System.Text.Json.Serialization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// What the plugin knows about a volume it created, stored twice: in the image's metadata (key
/// <see cref="MetadataKey"/>, so the image describes itself) and in the pool's volume index (one omap entry per
/// volume, so List is one read).
/// </summary>
/// <param name="ResizedTo">The size `volume resize` last set, or null. <see cref="Spec"/> keeps the creation options,
/// so a Create with the options the volume was made with stays idempotent after a resize.</param>
internal sealed record VolumeRecord(string Name, string Namespace, VolumeSpec Spec, DateTimeOffset CreatedAt, string CreatedBy, ulong? ResizedTo = null)
{
    public const string MetadataKey = "rbd-plugin.volume";

    [JsonIgnore]
    public ImageRef Image => new(Spec.Pool, Namespace, Name);

    /// <summary>What librbd needs to make this volume's image, the record itself as its metadata.</summary>
    public ImageCreateRequest ToCreateRequest()
    {
        ulong? features = Spec.Features is null
            ? null
            : Spec.Features.Split(',', StringSplitOptions.RemoveEmptyEntries).Aggregate(0UL, (bits, n) => bits | RbdFeatures.ByName[n]);
        int? order = Spec.ObjectSize is { } size ? System.Numerics.BitOperations.Log2(size) : null;
        return new ImageCreateRequest(Image, Spec.SizeBytes, features, order, Spec.DataPool,
            new Dictionary<string, string> { [MetadataKey] = ToJson() });
    }

    public string ToJson() => JsonSerializer.Serialize(this, VolumesJsonContext.Default.VolumeRecord);

    /// <summary>Parses a stored record; null when it is not one of ours or is damaged.</summary>
    public static VolumeRecord? FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, VolumesJsonContext.Default.VolumeRecord);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VolumeRecord))]
[JsonSerializable(typeof(JournalEntry))]
internal sealed partial class VolumesJsonContext : JsonSerializerContext;
