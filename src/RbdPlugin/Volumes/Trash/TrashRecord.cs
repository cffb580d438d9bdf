using System.Text.Json;
using System.Text.Json.Serialization;

namespace RbdPlugin.Volumes;

/// <summary>An image this plugin moved to Ceph's trash, and when it may be purged.</summary>
internal sealed record TrashRecord(string Name, string Pool, string Namespace, string TrashId, DateTimeOffset Expires)
{
    public string ToJson() => JsonSerializer.Serialize(this, TrashJsonContext.Default.TrashRecord);

    public static TrashRecord? FromJson(string json) => StoredJson.Parse(json, TrashJsonContext.Default.TrashRecord);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TrashRecord))]
internal sealed partial class TrashJsonContext : JsonSerializerContext;
