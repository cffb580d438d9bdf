using System.Text.Json.Serialization;
using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>
/// The admin socket's contract, shared by the daemon's endpoints (Hosting) and <see cref="AdminClient"/>: health for
/// supervisors, and under <see cref="Prefix"/> what only the daemon that has a volume mounted can do —
/// <c>POST /admin/v1/volumes/NAME/snapshots</c> <c>{"snapshot":"S"}</c> (freeze, snapshot, thaw) and
/// <c>POST /admin/v1/volumes/NAME/grow</c> (refresh the device, grow the filesystem online).
/// </summary>
internal static class AdminRoutes
{
    public const string Prefix = "/admin/v1";
    public const string Health = "/healthz";
    public const string SnapshotsPath = "volumes/{name}/snapshots";
    public const string GrowPath = "volumes/{name}/grow";

    /// <summary>The path of a route for one volume, relative to the admin prefix.</summary>
    public static string PathOf(string route, string name) => route.Replace("{name}", Uri.EscapeDataString(name), StringComparison.Ordinal);
}

/// <summary>A failed admin request: the operator's message and the <see cref="VolumeErrorKind"/> that decides the CLI's exit code.</summary>
internal sealed record AdminError(string Error, string Kind);

/// <summary>/healthz: the process is up and serving.</summary>
internal sealed record HealthResponse(string Status, string HostId);

/// <summary>Body of a snapshot request.</summary>
internal sealed record SnapshotRequest(string Snapshot);

/// <summary>Body of a grow request.</summary>
internal sealed record GrowRequest(string Name);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(AdminError))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(SnapshotRequest))]
[JsonSerializable(typeof(SnapshotTaken))]
[JsonSerializable(typeof(GrowRequest))]
[JsonSerializable(typeof(FilesystemGrowth))]
[JsonSerializable(typeof(string))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
