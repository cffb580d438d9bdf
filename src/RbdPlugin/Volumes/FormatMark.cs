using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace RbdPlugin.Volumes;

/// <summary>
/// "This image has had a filesystem": written into the image's metadata (key <see cref="Key"/>) right after the first
/// mkfs, or at the first mount that finds a filesystem on a volume made before the mark existed. A probe that finds
/// nothing on a marked image means the filesystem is gone or unreadable, never "new volume": the Mount is refused
/// and nothing is formatted. Read back from Ceph, so nothing in it is trusted: only its presence decides, and only
/// fields that pass <see cref="Describe"/>'s checks reach a message.
/// </summary>
internal sealed partial record FormatMark(string FsType, DateTimeOffset FormattedAt, string Host)
{
    public const string Key = "rbd-plugin.formatted";

    public string ToJson() => JsonSerializer.Serialize(this, FormatMarkJsonContext.Default.FormatMark);

    /// <summary>The mark's fields, or null when the value is damaged (it still counts as a mark).</summary>
    public static FormatMark? FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, FormatMarkJsonContext.Default.FormatMark);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>"ext4 on 2026-11-27T10:00:00Z by host host-a", from the fields that look like what we write; else "".</summary>
    public static string Describe(FormatMark? mark) =>
        mark is not null && FsOptions.FsTypes.Contains(mark.FsType) && mark.Host is { } host && SafeHost().IsMatch(host)
            ? $"{mark.FsType} on {Rfc3339.Format(mark.FormattedAt)} by host {host}"
            : "";

    [GeneratedRegex(@"\A[A-Za-z0-9_.-]{1,100}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeHost();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(FormatMark))]
internal sealed partial class FormatMarkJsonContext : JsonSerializerContext;
