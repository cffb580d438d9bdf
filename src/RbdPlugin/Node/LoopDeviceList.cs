using System.Text.Json;

namespace RbdPlugin.Node;

/// <summary>One loop device and the file behind it.</summary>
internal sealed record LoopDevice(string Device, string BackingFile);

/// <summary>Parses <c>losetup --list --json --output NAME,BACK-FILE</c>.</summary>
internal static class LoopDeviceList
{
    /// <summary>The marker the kernel appends to a backing file that was deleted or replaced.</summary>
    public const string DeletedSuffix = " (deleted)";

    /// <summary>
    /// {"loopdevices":[{"name":"/dev/loop0","back-file":"/x/img"}]}. Empty output is an empty list (older
    /// util-linux prints nothing when no loop device is set up); a " (deleted)" suffix is removed, since the path
    /// is what we match on.
    /// </summary>
    public static IReadOnlyList<LoopDevice> Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Object
            || !doc.RootElement.TryGetProperty("loopdevices", out var rows) || rows.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("losetup --list --json: no \"loopdevices\" array");
        }
        var devices = new List<LoopDevice>();
        foreach (var row in rows.EnumerateArray())
        {
            var name = row.TryGetProperty("name", out var n) ? n.GetString() : null;
            var file = row.TryGetProperty("back-file", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(file))
            {
                continue;
            }
            if (file.EndsWith(DeletedSuffix, StringComparison.Ordinal))
            {
                file = file[..^DeletedSuffix.Length];
            }
            devices.Add(new LoopDevice(name, file));
        }
        return devices;
    }
}
