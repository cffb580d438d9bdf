using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RbdPlugin.Volumes;

/// <summary>Reads what the plugin stored in Ceph (omap values, image metadata): any host's key can write it, so a value
/// that is not the JSON of the type asked for is no value (null), never an exception.</summary>
internal static class StoredJson
{
    public static T? Parse<T>(string json, JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
