using System.Text.Json;
using System.Text.Json.Serialization;

namespace RbdPlugin.Volumes;

/// <summary>
/// A Remove under way (omap of <see cref="VolumeRemover.IndexObject"/>, keyed by volume name): the volume's record,
/// as it was in the index, kept from just before its index entry goes until its image is deleted, trashed or kept.
/// </summary>
internal sealed record RemovalIntent(string Record, string Host, DateTimeOffset Since)
{
    public string ToJson() => JsonSerializer.Serialize(this, RemovalJsonContext.Default.RemovalIntent);

    /// <summary>The intent, or null when the value is damaged.</summary>
    public static RemovalIntent? FromJson(string json) => StoredJson.Parse(json, RemovalJsonContext.Default.RemovalIntent);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RemovalIntent))]
internal sealed partial class RemovalJsonContext : JsonSerializerContext;
