using System.Text.Json;
using System.Text.Json.Serialization;

namespace RbdPlugin.Volumes;

/// <summary>
/// "A Create of <paramref name="Volume"/> is making its image as <paramref name="Image"/>": written before the
/// image is made, removed once it is renamed into place (see <see cref="ImageStaging"/>).
/// </summary>
internal sealed record StagingIntent(string Volume, string Pool, string Namespace, string Image, string Host, DateTimeOffset StartedAt)
{
    public string ToJson() => JsonSerializer.Serialize(this, StagingJsonContext.Default.StagingIntent);

    /// <summary>The intent, or null when the value is damaged.</summary>
    public static StagingIntent? FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, StagingJsonContext.Default.StagingIntent);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StagingIntent))]
internal sealed partial class StagingJsonContext : JsonSerializerContext;
