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
/// <param name="LimitedTo">The I/O limits `volume limit` last set (<see cref="IoLimits.None"/> when it removed them
/// all), or null when they are still the creation options'.</param>
internal sealed record VolumeRecord(string Name, string Namespace, VolumeSpec Spec, DateTimeOffset CreatedAt, string CreatedBy, ulong? ResizedTo = null,
    IoLimits? LimitedTo = null)
{
    public const string MetadataKey = "rbd-plugin.volume";

    [JsonIgnore]
    public ImageRef Image => new(Spec.Pool, Namespace, Name);

    /// <summary>The I/O limits in force: the last `volume limit`, else the creation options'.</summary>
    [JsonIgnore]
    public IoLimits Limits => LimitedTo ?? Spec.Limits ?? IoLimits.None;

    /// <summary>
    /// The image metadata a new image of this record gets: the record itself, its limits as librbd settings, and no
    /// format mark. A null value removes the key: a clone starts with a copy of its parent's metadata, whose limits
    /// may differ and whose format mark may be younger than the snapshot (the clone's first mount marks it when it
    /// finds the filesystem).
    /// </summary>
    public IReadOnlyDictionary<string, string?> ImageMetadata() =>
        new Dictionary<string, string?>(Limits.Metadata(), StringComparer.Ordinal) { [MetadataKey] = ToJson(), [FormatMark.Key] = null };

    /// <summary>What librbd needs to make this volume's image, the record itself as its metadata.</summary>
    public ImageCreateRequest ToCreateRequest()
    {
        ulong? features = Spec.Features is null
            ? null
            : Spec.Features.Split(',', StringSplitOptions.RemoveEmptyEntries).Aggregate(0UL, (bits, n) => bits | RbdFeatures.ByName[n]);
        int? order = Spec.ObjectSize is { } size ? System.Numerics.BitOperations.Log2(size) : null;
        return new ImageCreateRequest(Image, Spec.SizeBytes, features, order, Spec.DataPool, ImageMetadata());
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
