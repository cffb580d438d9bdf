using System.Text.Json.Serialization;
using RbdPlugin.Volumes;

namespace RbdPlugin.Admin;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(SnapshotRequest))]
[JsonSerializable(typeof(SnapshotTaken))]
[JsonSerializable(typeof(GrowRequest))]
[JsonSerializable(typeof(FilesystemGrowth))]
internal sealed partial class VolumeAdminJsonContext : JsonSerializerContext;

/// <summary>
/// The admin routes for a mounted volume's filesystem, which only the daemon that mounted it can touch:
/// <c>POST /admin/v1/volumes/NAME/snapshots</c> <c>{"snapshot":"S"}</c> (freeze, snapshot, thaw) and
/// <c>POST /admin/v1/volumes/NAME/grow</c> (refresh the device, grow the filesystem online).
/// </summary>
internal static class VolumeAdminEndpoints
{
    public const string SnapshotsPath = "volumes/{name}/snapshots";
    public const string GrowPath = "volumes/{name}/grow";

    public static RouteGroupBuilder MapVolumeAdmin(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost(SnapshotsPath, (string name, HttpRequest request, VolumeDriver driver, CancellationToken ct) =>
            AdminEndpoints.AnswerAsync(async () =>
            {
                var body = await ReadAsync(request, VolumeAdminJsonContext.Default.SnapshotRequest, ct);
                var taken = await driver.SnapshotAsync(name, body.Snapshot, ct);
                return TypedResults.Json(taken, VolumeAdminJsonContext.Default.SnapshotTaken);
            }));
        group.MapPost(GrowPath, (string name, VolumeDriver driver, CancellationToken ct) =>
            AdminEndpoints.AnswerAsync(async () =>
                TypedResults.Json(await driver.GrowAsync(name, ct), VolumeAdminJsonContext.Default.FilesystemGrowth)));
        return group;
    }

    /// <summary>The path of a route for one volume, relative to the admin prefix.</summary>
    public static string PathOf(string route, string name) => route.Replace("{name}", Uri.EscapeDataString(name), StringComparison.Ordinal);

    private static async Task<T> ReadAsync<T>(HttpRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken ct)
    {
        try
        {
            return await request.ReadFromJsonAsync(type, ct)
                ?? throw new VolumeException(VolumeErrorKind.InvalidArgument, "empty request body");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, $"malformed request body: {e.Message}", e);
        }
    }
}
