using System.Globalization;
using System.Text.Json;
using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>One row of <c>rbd device list --format json</c>.</summary>
/// <param name="Id">krbd: the device id ("0" for /dev/rbd0); nbd: the rbd-nbd process id.</param>
/// <param name="Image">Pool, namespace ("" when none) and image name.</param>
/// <param name="Snap">The mapped snapshot, or "" when the image head is mapped.</param>
/// <param name="Device">The block device, e.g. /dev/rbd0 or /dev/nbd0.</param>
/// <param name="Cookie">nbd: the device's cookie (its netlink "backend"), what a re-attach must name; "" when none.</param>
internal sealed record RbdDeviceEntry(string Id, ImageRef Image, string Snap, string Device, string Cookie = "");

/// <summary>Parses the JSON of <c>rbd device list</c> for both device types.</summary>
internal static class RbdDeviceList
{
    /// <summary>
    /// krbd rows look like {"id":"0","pool":"rbd","namespace":"","name":"img","snap":"-","device":"/dev/rbd0"};
    /// nbd rows like {"id":1234,"pool":"rbd","namespace":"","image":"img","snap":"","device":"/dev/nbd0"}: the
    /// image is "name" for one and "image" for the other, and the id is a string or a number, so both are accepted.
    /// An empty output is an empty list (older releases print nothing when nothing is mapped).
    /// </summary>
    public static IReadOnlyList<RbdDeviceEntry> Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"rbd device list: expected a JSON array, got {doc.RootElement.ValueKind}");
        }
        var entries = new List<RbdDeviceEntry>();
        foreach (var row in doc.RootElement.EnumerateArray())
        {
            var name = Text(row, "name") ?? Text(row, "image") ?? "";
            var snap = Text(row, "snap") ?? "";
            entries.Add(new RbdDeviceEntry(
                Id: Text(row, "id") ?? "",
                Image: new ImageRef(Text(row, "pool") ?? "", Text(row, "namespace") ?? "", name),
                Snap: snap == "-" ? "" : snap,
                Device: Text(row, "device") ?? "",
                Cookie: Text(row, "cookie") ?? ""));
        }
        return entries;
    }

    private static string? Text(JsonElement row, string property) =>
        row.TryGetProperty(property, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetInt64().ToString(CultureInfo.InvariantCulture),
                _ => null,
            }
            : null;
}
